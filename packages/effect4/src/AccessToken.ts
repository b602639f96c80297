/**
 * What callers of `ManagedIdentityClient.getToken` receive.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Where the token came from: a request to the identity endpoint, or the cache.
 *
 * @since 0.1.0
 * @category models
 */
export const TokenOrigin = Schema.Literals(["identity_provider", "cache"])

/**
 * @since 0.1.0
 * @category models
 */
export type TokenOrigin = typeof TokenOrigin.Type

/**
 * An access token. `token` is `Redacted`: it prints as `<redacted>` in logs, errors and `toString`; read it with
 * `Redacted.value` when building the `Authorization` header.
 *
 * @since 0.1.0
 * @category models
 */
export class AccessToken extends Schema.Class<AccessToken>("@managed-identity/effect4/AccessToken")({
  token: Schema.Redacted(Schema.String),
  tokenType: Schema.String,
  resource: Schema.String,
  expiresOn: Schema.DateTimeUtc,
  refreshOn: Schema.OptionFromNullOr(Schema.DateTimeUtc),
  source: TokenOrigin
}) {}
