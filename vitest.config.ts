import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    // The Effect 4 packages run on vitest 5, on Node >= 22.19 only (scripts/test-effect4.mjs, after this run).
    projects: ["packages/*", "!packages/effect4*", "examples"],
    // The pool is the root's: without this, each file gets a fresh worker whatever the projects say (vitest.shared.ts).
    isolate: false,
    // One worker per core, not vitest's default of one fewer: most tests wait on sockets and child processes, so on
    // CI's 2 cores two workers take the 3.x run from ~130 s to ~95 s.
    maxWorkers: availableParallelism()
  }
})
