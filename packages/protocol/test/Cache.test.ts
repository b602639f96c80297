import { assert, describe, it } from "@effect/vitest"
import * as Cache from "../src/Cache.js"
import type * as Problem from "../src/Problem.js"

const failed = (status: number, retryAfter?: number): Problem.TokenRequestFailed => ({
  _tag: "TokenRequestFailed",
  source: "Imds",
  status,
  ...(retryAfter === undefined ? {} : { retryAfter })
})

describe("cache rules", () => {
  it("remembers a 429 (5 s without Retry-After) and a 5xx with Retry-After (at most an hour), nothing else", () => {
    assert.strictEqual(Cache.throttleMillis(failed(429)), 5000)
    assert.strictEqual(Cache.throttleMillis(failed(429, 30)), 30_000)
    assert.strictEqual(Cache.throttleMillis(failed(503, 7200)), 3_600_000)
    assert.isUndefined(Cache.throttleMillis(failed(500)))
    assert.isUndefined(Cache.throttleMillis(failed(400, 5)))
    assert.isUndefined(
      Cache.throttleMillis({ _tag: "Timeout", source: "Imds", attempts: 4, reason: "no token within the deadline" })
    )
  })

  it("serves a token with exactly 300 s left, not one with 299.999 s", () => {
    assert.isTrue(Cache.isServable(1_000_000 + 300_000, 1_000_000))
    assert.isFalse(Cache.isServable(1_000_000 + 299_999, 1_000_000))
  })
})
