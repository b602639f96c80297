import { assert, it } from "@effect/vitest"
import { Effect } from "effect"

it.effect("effect 4", () => Effect.sync(() => assert.strictEqual(1, 1)))
