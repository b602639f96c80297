/**
 * One assertion for the shape of a token request as a `FakeHttp` recorded it: method, URL, query, body and headers
 * exactly, the per-request id and the user agent by pattern, the trace headers (`b3`, `traceparent`) ignored.
 */
import { assert } from "@effect/vitest"
import type { RecordedRequest } from "./fakeHttp.js"

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** What the request must be. */
export interface ExpectedRequest {
  readonly method: string
  /** The URL without its query. */
  readonly url: string
  readonly params: Readonly<Record<string, string>>
  readonly body?: string | undefined
  /** Every header but `user-agent`, `x-ms-client-request-id`, `b3` and `traceparent`. */
  readonly headers: Readonly<Record<string, string>>
}

/** Asserts that `request` is exactly `expected`, the user agent and request id by pattern. */
export const expectRequest = (request: RecordedRequest, expected: ExpectedRequest): void => {
  assert.strictEqual(request.method, expected.method)
  assert.strictEqual(request.urlWithoutQuery, expected.url)
  assert.deepStrictEqual(request.params, expected.params)
  assert.strictEqual(request.body, expected.body)
  const {
    b3: _b3,
    traceparent: _traceparent,
    "user-agent": userAgent,
    "x-ms-client-request-id": requestId,
    ...rest
  } = request.headers
  assert.deepStrictEqual(rest, expected.headers)
  assert.match(requestId, uuidV4)
  assert.match(userAgent, /^managed-identity\/\d+\.\d+\.\d+ .*@managed-identity\/effect4/)
}
