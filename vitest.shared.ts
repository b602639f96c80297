import { fileURLToPath } from "node:url"
import type { ViteUserConfig } from "vitest/config"

const config: ViteUserConfig = {
  test: {
    include: ["test/**/*.test.ts"],
    fakeTimers: { toFake: undefined },
    sequence: { concurrent: false },
    // One worker process runs all of a project's files and keeps the modules it loaded (effect, @effect/platform,
    // the sources) between them: loading them again for every file cost about 40 s of a run on 2 cores. No test
    // changes process-wide state (process.env, globals); metrics are compared before and after, never absolute; and
    // the setup file gives every file @effect/vitest's `it` as exported, whatever `layer(...)` an earlier file ran.
    isolate: false,
    setupFiles: [fileURLToPath(new URL("vitest.setup.ts", import.meta.url))],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
}

export default config
