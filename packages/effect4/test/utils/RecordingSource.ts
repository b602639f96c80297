/**
 * A `TokenSource` for tests that issues `token-1`, `token-2`, … (one per call, valid for `lifetimeMillis` from the
 * `Clock`'s now) and records every request it is asked for.
 *
 * ```ts
 * const source = RecordingSource.make()
 * // … provide ManagedIdentityClient.layer over source.layer …
 * assert.deepStrictEqual(source.requests, [{ resource }])
 * ```
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { TokenRequest } from "../../src/TokenRequest.js"
import * as TokenSource from "../../src/TokenSource.js"

/** The source's layer and the requests it has seen, in order. */
export interface RecordingSource {
  readonly requests: ReadonlyArray<TokenRequest>
  readonly layer: Layer.Layer<TokenSource.TokenSource>
}

/** Builds a fresh source; tokens live one hour unless `lifetimeMillis` says otherwise. */
export const make = (options: { readonly lifetimeMillis?: number } = {}): RecordingSource => {
  const lifetimeMillis = options.lifetimeMillis ?? 3_600_000
  const requests: Array<TokenRequest> = []
  const layer = TokenSource.layerTest({
    getToken: (request) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const n = requests.push(request)
        return TokenSource.issuedToken({
          token: Redacted.make(`token-${n}`),
          resource: request.resource,
          issuedAt: DateTime.makeUnsafe(now),
          expiresOn: DateTime.makeUnsafe(now + lifetimeMillis)
        })
      })
  })
  return { requests, layer }
}
