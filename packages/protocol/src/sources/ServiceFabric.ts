/**
 * Service Fabric (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER` + `IDENTITY_SERVER_THUMBPRINT`), over https trusted only
 * through the SHA-1 thumbprint of the server certificate; the pin itself is each platform's.
 *
 * @since 0.1.0
 */
import * as Endpoint from "../Endpoint.js"
import * as Identity from "../Identity.js"
import * as Problem from "../Problem.js"
import * as Request from "../Request.js"
import * as Result from "../Result.js"
import * as Source from "../Source.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion = "2019-07-01-preview"

/**
 * @since 0.1.0
 * @category models
 */
export const facts: Source.Facts<"ServiceFabric"> = Source.make({
  kind: "ServiceFabric",
  variables: [
    { name: "IDENTITY_ENDPOINT", role: "url" },
    { name: "IDENTITY_HEADER", role: "secret" },
    { name: "IDENTITY_SERVER_THUMBPRINT", role: "value" }
  ],
  detectionVariables: ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT"],
  detect: "IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT are set",
  endpoint: (lookup) => lookup("IDENTITY_ENDPOINT"),
  retry: "Default",
  capabilities: { tokenRevocation: true, clientCapabilities: true }
})

/**
 * Normalises a certificate thumbprint: spaces, tabs, newlines and `:` are dropped and the rest lower-cased; it must
 * then be 40 hexadecimal characters. Thumbprints are not secrets, but the reason does not echo it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const normalizeThumbprint = (thumbprint: string): Result.Result<string, Problem.InvalidIdentity> => {
  const normalized = thumbprint.replace(/[ \t\r\n:]/g, "").toLowerCase()
  return /^[0-9a-f]{40}$/.test(normalized) ? Result.ok(normalized) : Result.err(
    Problem.invalidIdentity(
      "ServiceFabric",
      `IDENTITY_SERVER_THUMBPRINT must be a SHA-1 thumbprint: 40 hexadecimal characters once spaces and ':' are removed (got ${normalized.length} characters)`
    )
  )
}

/**
 * `IDENTITY_ENDPOINT`, `IDENTITY_HEADER` and `IDENTITY_SERVER_THUMBPRINT`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly endpoint: string
  readonly identityHeader: string
  readonly thumbprint: string
}

/**
 * A checked source; `thumbprint` is normalised, for the platform's pinned client.
 *
 * @since 0.1.0
 * @category models
 */
export interface Checked {
  readonly url: string
  readonly identityHeader: string
  readonly thumbprint: string
}

/**
 * Checks the settings: the system-assigned identity only (on Service Fabric the identity comes from the cluster, and a
 * user-assigned id would be silently ignored by the endpoint), an https endpoint, a secret a header can carry, a
 * well-formed thumbprint.
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (
  settings: Settings,
  identity: Identity.Identity
): Result.Result<Checked, Problem.InvalidIdentity> =>
  Result.map(
    Result.all([
      Identity.accept("ServiceFabric", identity, ["SystemAssigned"]),
      Endpoint.secretEndpoint("ServiceFabric", "IDENTITY_ENDPOINT", settings.endpoint, { pinned: true }),
      Endpoint.secretHeader("ServiceFabric", "IDENTITY_HEADER", settings.identityHeader),
      normalizeThumbprint(settings.thumbprint)
    ]),
    ([, url, identityHeader, thumbprint]) => ({ url: url.href, identityHeader, thumbprint })
  )

/**
 * `GET $IDENTITY_ENDPOINT?api-version=2019-07-01-preview&resource=…` with `secret`; `token_sha256_to_refresh` on a
 * claims request that found a cached token, `xms_cc` whenever client capabilities are configured.
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = (checked: Checked, tokenRequest: Request.TokenRequest): Request.Request =>
  Request.get(checked.url, apiVersion, tokenRequest.resource, {
    query: [
      ...(tokenRequest.tokenSha256ToRefresh === undefined
        ? []
        : [["token_sha256_to_refresh", tokenRequest.tokenSha256ToRefresh] as const]),
      ...(tokenRequest.clientCapabilities === undefined || tokenRequest.clientCapabilities.length === 0
        ? []
        : [["xms_cc", tokenRequest.clientCapabilities.join(",")] as const])
    ],
    headers: { secret: checked.identityHeader }
  })
