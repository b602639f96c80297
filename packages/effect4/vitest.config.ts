import { defineConfig } from "vitest/config"

// Vitest 5 with @effect/vitest 4, on Node >= 22.19 (Effect 4's line): not one of the root's vitest 3 projects.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    fakeTimers: { toFake: undefined },
    sequence: { concurrent: false },
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
