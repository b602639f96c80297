/**
 * The Effect 4 line's test run (`node scripts/test-effect4.mjs`, part of `pnpm test` on Node >= 22.19): vitest 5, both
 * Effect 4 packages as projects, workers keeping loaded modules between files as the root's run does.
 */
import { existsSync } from "node:fs"
import { availableParallelism } from "node:os"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const root = fileURLToPath(new URL("../..", import.meta.url))

export default defineConfig({
  root,
  test: {
    projects: ["packages/effect4", "packages/effect4-node"].filter((path) => existsSync(`${root}/${path}`)),
    isolate: false,
    // One worker per core, as the root's run (vitest.config.ts): most tests wait on sockets and child processes.
    maxWorkers: availableParallelism()
  }
})
