/**
 * One request for a token, as the client hands it to a `TokenSource`.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface TokenRequest {
  /** The resource (audience), e.g. `https://vault.azure.net`. */
  readonly resource: string
  /** A claims challenge (JSON) from a resource's `401`; it bypasses the cache. */
  readonly claims?: string | undefined
  /** Client capabilities (`xms_cc`) for sources that take them, e.g. `["cp1"]`. */
  readonly clientCapabilities?: ReadonlyArray<string> | undefined
  /** Lowercase hex SHA-256 of the cached token being replaced, for sources that accept token revocation. */
  readonly tokenSha256ToRefresh?: string | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (resource: string, options?: Omit<TokenRequest, "resource">): TokenRequest => ({
  ...options,
  resource
})
