#!/usr/bin/env node
// Writes packages/*/CHANGELOG.md from the pending changesets without consuming them: `changeset version` runs on a
// scratch copy of the workspace's manifests, changesets and changelogs, and only the changelogs it writes come back.
// The changesets, the versions and every other file here stay as they are, so it can run again and again (every
// `pnpm build` does) while other branches keep adding changesets. The pending release's heading says it is unreleased.
// At a release, `pnpm changeset version` itself consumes the changesets and writes the changelogs to commit.
// Usage: node scripts/changelog.mjs
import { execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")
const scratch = mkdtempSync(join(tmpdir(), "managed-identity-changelog-"))
const packages = readdirSync(join(root, "packages"))
const manifests = ["package.json", "pnpm-workspace.yaml", "examples/package.json"]
  .concat(packages.flatMap((name) => [`packages/${name}/package.json`, `packages/${name}/CHANGELOG.md`]))

try {
  for (const file of manifests.filter((file) => existsSync(join(root, file)))) {
    mkdirSync(dirname(join(scratch, file)), { recursive: true })
    cpSync(join(root, file), join(scratch, file))
  }
  cpSync(join(root, ".changeset"), join(scratch, ".changeset"), { recursive: true })
  const pending = readdirSync(join(scratch, ".changeset")).filter((file) => file.endsWith(".md") && file !== "README.md")
  execFileSync(process.execPath, [join(root, "node_modules/@changesets/cli/bin.js"), "version"], {
    cwd: scratch,
    stdio: ["ignore", "ignore", "inherit"]
  })
  for (const name of packages) {
    const written = join(scratch, "packages", name, "CHANGELOG.md")
    if (!existsSync(written)) continue
    const { version } = JSON.parse(readFileSync(join(scratch, "packages", name, "package.json"), "utf8"))
    const text = readFileSync(written, "utf8").replace(
      `\n## ${version}\n`,
      `\n## ${version} (unreleased: from ${pending.length} pending changesets)\n`
    )
    writeFileSync(join(root, "packages", name, "CHANGELOG.md"), text)
  }
  console.log(`changelog: packages/*/CHANGELOG.md from ${pending.length} pending changesets (none consumed)`)
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
