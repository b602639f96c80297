#!/usr/bin/env node
// The Effect 4 line's tests (packages/effect4, packages/effect4-node), run by `pnpm test` after the 3.x line's: Effect 4,
// vitest 5 and @effect/vitest 4 need Node >= 22.19, so on an older Node this prints one line and runs nothing. The
// root's vitest is 3 (the 3.x line's); vitest 5 is a devDependency of packages/effect4-node, and its config there
// names both packages as projects. Arguments are passed on to vitest (e.g. a file filter). With
// `EFFECT4_TESTS=required` (CI on Node 22 and 24) a Node too old to run them is a failure, not a skip.
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"

const [major, minor] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  console.log(`Effect 4 tests skipped: Node ${process.version} is older than 22.19, which Effect 4 needs`)
  // CI sets it on Node 22 and 24, where a skip would hide the Effect 4 line's tests.
  process.exit(process.env.EFFECT4_TESTS === "required" ? 1 : 0)
}
const root = resolve(import.meta.dirname, "..")
const packageDirectory = join(root, "packages", "effect4-node")
const vitest = join(
  dirname(createRequire(join(packageDirectory, "package.json")).resolve("vitest/package.json")),
  "vitest.mjs"
)
const { status, signal } = spawnSync(
  process.execPath,
  [vitest, "run", "--config", join(packageDirectory, "vitest.lines.config.ts"), ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit" }
)
process.exit(status ?? (signal === null ? 1 : 128))
