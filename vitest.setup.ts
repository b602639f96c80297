/**
 * Runs before every test file: `it` as @effect/vitest exports it. Its `layer(...)` (0.30) writes the block's own
 * `effect`, `scoped`, `prop`, `flakyTest` and `layer` onto the `it` every file shares (Effect 4's @effect/vitest no
 * longer does: effect-smol#2177). Files share modules here (`isolate: false`), so without this a later file's
 * `it.effect` would run in an earlier file's layer, without `TestClock`.
 */
import { effect, flakyTest, it, layer, prop, scoped } from "@effect/vitest"

Object.assign(it, { effect, flakyTest, layer, prop, scoped })
