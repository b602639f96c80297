/**
 * A downstream service's check of the bearer tokens it receives, written as for Entra ID and run unchanged against
 * the emulator: it reads its issuer's OpenID configuration, fetches the keys its `jwks_uri` names (jose caches them,
 * and fetches again for a `kid` it does not know), and verifies a token's RS256 signature, issuer, audience and
 * lifetime with `jose`.
 *
 * On Azure the configuration is `https://login.microsoftonline.com/{tenant}/.well-known/openid-configuration`; in a
 * test it is the emulator's `openId.configurationUrl`, served over HTTPS under the emulator's STS CA, which the `fetch`
 * given must trust.
 */
import { Data, Effect, Schema } from "effect"
import { createRemoteJWKSet, customFetch, errors, type JWTPayload, jwtVerify } from "jose"

/** The issuer's documents could not be read. */
export class DiscoveryFailed extends Data.TaggedError("DiscoveryFailed")<{ readonly message: string }> {}

/** The token is not one the service accepts; `code` is jose's (`ERR_JWS_SIGNATURE_VERIFICATION_FAILED`, …). */
export class TokenRejected extends Data.TaggedError("TokenRejected")<{
  readonly code: string
  readonly message: string
}> {}

const OpenIdConfiguration = Schema.Struct({ issuer: Schema.String, jwks_uri: Schema.String })

/** A service's token check: the issuer it trusts and the verification of one token. */
export interface Verifier {
  readonly issuer: string
  readonly verify: (token: string) => Effect.Effect<JWTPayload, TokenRejected>
}

/** The check of a service that is `audience`, trusting the issuer the OpenID configuration at `configurationUrl` names. */
export const makeVerifier = (options: {
  readonly configurationUrl: string
  readonly audience: string
  readonly fetch: typeof globalThis.fetch
}): Effect.Effect<Verifier, DiscoveryFailed> =>
  Effect.gen(function*() {
    const configuration = yield* Effect.tryPromise({
      try: () => options.fetch(options.configurationUrl).then((response) => response.json()),
      catch: (error) => new DiscoveryFailed({ message: `${options.configurationUrl}: ${String(error)}` })
    }).pipe(
      Effect.flatMap(Schema.decodeUnknown(OpenIdConfiguration)),
      Effect.mapError((error) => new DiscoveryFailed({ message: error.message }))
    )
    const keys = createRemoteJWKSet(new URL(configuration.jwks_uri), { [customFetch]: options.fetch })
    return {
      issuer: configuration.issuer,
      verify: (token) =>
        Effect.tryPromise({
          try: () =>
            jwtVerify(token, keys, {
              issuer: configuration.issuer,
              audience: options.audience,
              algorithms: ["RS256"]
            }).then(({ payload }) => payload),
          catch: (error) =>
            new TokenRejected({
              code: error instanceof errors.JOSEError ? error.code : "ERR_UNKNOWN",
              message: error instanceof Error ? error.message : String(error)
            })
        })
    }
  })
