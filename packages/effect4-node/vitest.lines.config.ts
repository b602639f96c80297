/**
 * The Effect 4 line's test run (`node scripts/test-effect4.mjs`, part of `pnpm test` on Node >= 22.19): vitest 5, both
 * Effect 4 packages as projects, one worker keeping loaded modules between files as the root's run does.
 */
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const root = fileURLToPath(new URL("../..", import.meta.url))

export default defineConfig({
  root,
  test: {
    projects: ["packages/effect4", "packages/effect4-node"].filter((path) => existsSync(`${root}/${path}`)),
    isolate: false
  }
})
