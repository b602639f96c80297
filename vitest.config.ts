import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/*", "!packages/effect4", "examples"],
    // The pool is the root's: without this, each file gets a fresh worker whatever the projects say (vitest.shared.ts).
    isolate: false
  }
})
