/**
 * The request a source sends, as plain values: each line turns it into its own HTTP request and adds what every
 * request carries (`x-ms-client-request-id`, `User-Agent`).
 *
 * @since 0.1.0
 */

/**
 * What a caller asks a source for.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenRequest {
  /** The resource (audience), e.g. `https://vault.azure.net`. */
  readonly resource: string
  /** A claims challenge (JSON) from a resource's `401`. */
  readonly claims?: string | undefined
  /** Client capabilities (`xms_cc`) for sources that take them, e.g. `["cp1"]`. */
  readonly clientCapabilities?: ReadonlyArray<string> | undefined
  /** Lowercase hex SHA-256 of the cached token being replaced, for sources that accept token revocation. */
  readonly tokenSha256ToRefresh?: string | undefined
}

/**
 * One HTTP request: `url` as the endpoint names it (its own query, if any, comes first), then `query` in order; the
 * headers; a form body (`application/x-www-form-urlencoded`) for a `POST`; and `secrets`, every secret the request
 * carries, which no text taken from the answer may show.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly method: "GET" | "POST"
  readonly url: string
  readonly query: ReadonlyArray<readonly [string, string]>
  readonly headers: Readonly<Record<string, string>>
  readonly form?: ReadonlyArray<readonly [string, string]> | undefined
  readonly secrets: ReadonlyArray<string>
}

/**
 * Header names (lower case) whose values are secrets: redacted wherever headers are logged or traced, scrubbed from
 * answers.
 *
 * @since 0.1.0
 * @category constants
 */
export const secretHeaderNames: ReadonlyArray<string> = ["x-identity-header", "secret", "authorization"]

/**
 * The secrets carried by `headers`: the value of each secret header, and for `Authorization` the credentials after its
 * scheme as well.
 */
const headerSecrets = (headers: Readonly<Record<string, string>>): ReadonlyArray<string> => {
  const byName = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))
  return secretHeaderNames.flatMap((name) => {
    const value = byName.get(name)
    if (value === undefined || value === "") return []
    const credentials = name === "authorization" ? value.replace(/^\S+\s+/, "") : value
    return credentials === value ? [value] : [value, credentials]
  })
}

/**
 * A request, its `secrets` found in its secret headers, followed by `secretsInForm` (workload identity's assertion).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (parts: {
  readonly method: "GET" | "POST"
  readonly url: string
  readonly query?: ReadonlyArray<readonly [string, string]> | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly form?: ReadonlyArray<readonly [string, string]> | undefined
  readonly secretsInForm?: ReadonlyArray<string> | undefined
}): Request => ({
  method: parts.method,
  url: parts.url,
  query: parts.query ?? [],
  headers: parts.headers,
  ...(parts.form === undefined ? {} : { form: parts.form }),
  secrets: [...headerSecrets(parts.headers), ...(parts.secretsInForm ?? [])]
})

/**
 * The request most sources send: `GET <url>?api-version=…&resource=…` followed by `query`, with `headers`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const get = (
  url: string,
  apiVersion: string,
  resource: string,
  parts: {
    readonly query?: ReadonlyArray<readonly [string, string]> | undefined
    readonly headers: Readonly<Record<string, string>>
  }
): Request =>
  make({
    method: "GET",
    url,
    query: [["api-version", apiVersion], ["resource", resource], ...parts.query ?? []],
    headers: parts.headers
  })
