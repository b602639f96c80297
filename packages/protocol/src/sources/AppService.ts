/**
 * App Service, Azure Functions and Azure Automation (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
 *
 * @since 0.1.0
 */
import * as Endpoint from "../Endpoint.js"
import * as Identity from "../Identity.js"
import type * as Problem from "../Problem.js"
import * as Request from "../Request.js"
import * as Result from "../Result.js"
import * as Source from "../Source.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion = "2019-08-01"

/**
 * App Service's selector names: `client_id`, `mi_res_id`, `object_id`.
 *
 * @since 0.1.0
 * @category constants
 */
export const selectors: Identity.SelectorNames = { ...Identity.msiSelectors, ResourceId: "mi_res_id" }

/**
 * @since 0.1.0
 * @category models
 */
export const facts: Source.Facts<"AppService"> = Source.make({
  kind: "AppService",
  variables: [{ name: "IDENTITY_ENDPOINT", role: "url" }, { name: "IDENTITY_HEADER", role: "secret" }],
  detectionVariables: ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"],
  detect: "IDENTITY_ENDPOINT and IDENTITY_HEADER are set",
  endpoint: (lookup) => lookup("IDENTITY_ENDPOINT"),
  retry: "Default"
})

/**
 * `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly endpoint: string
  readonly identityHeader: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Checked {
  readonly url: string
  readonly identityHeader: string
  readonly identity: Identity.Identity
}

/**
 * Checks the settings: an http endpoint on a loopback or link-local host (the secret goes there), a secret a header
 * can carry.
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
      Endpoint.secretEndpoint("AppService", "IDENTITY_ENDPOINT", settings.endpoint, { pinned: false }),
      Endpoint.secretHeader("AppService", "IDENTITY_HEADER", settings.identityHeader)
    ]),
    ([url, identityHeader]) => ({ url: url.href, identityHeader, identity })
  )

/**
 * `GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=…&<selector>` with `X-IDENTITY-HEADER` and `Metadata: true`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = (checked: Checked, tokenRequest: Request.TokenRequest): Request.Request =>
  Request.get(checked.url, apiVersion, tokenRequest.resource, {
    query: Identity.selectorQuery(selectors, checked.identity),
    headers: { "X-IDENTITY-HEADER": checked.identityHeader, Metadata: "true" }
  })
