import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    // The Effect 4 packages run on vitest 5, on Node >= 22.19 only (scripts/test-effect4.mjs, after this run).
    projects: ["packages/*", "!packages/effect4*", "examples"],
    // The pool is the root's: without this, each file gets a fresh worker whatever the projects say (vitest.shared.ts).
    isolate: false
  }
})
