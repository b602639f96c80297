/**
 * Azure Machine Learning compute (`MSI_ENDPOINT` + `MSI_SECRET`).
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
export const apiVersion = "2017-09-01"

/**
 * @since 0.1.0
 * @category models
 */
export const facts: Source.Facts<"MachineLearning"> = Source.make({
  kind: "MachineLearning",
  variables: [
    { name: "MSI_ENDPOINT", role: "url" },
    { name: "MSI_SECRET", role: "secret" },
    { name: "DEFAULT_IDENTITY_CLIENT_ID", role: "value" }
  ],
  detectionVariables: ["MSI_ENDPOINT", "MSI_SECRET"],
  detect: "MSI_ENDPOINT and MSI_SECRET are set",
  endpoint: (lookup) => lookup("MSI_ENDPOINT"),
  retry: "Default"
})

/**
 * `MSI_ENDPOINT`, `MSI_SECRET`, and `DEFAULT_IDENTITY_CLIENT_ID` (sent for the system-assigned identity when set).
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly endpoint: string
  readonly secret: string
  readonly defaultClientId?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Checked {
  readonly url: string
  readonly secret: string
  readonly clientId: string | undefined
}

/**
 * Checks the settings: a user-assigned identity only by client id (`clientid`), an http endpoint on a loopback or
 * link-local host, a secret a header can carry.
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
      Identity.accept("MachineLearning", identity, ["SystemAssigned", "ClientId"]),
      Endpoint.secretEndpoint("MachineLearning", "MSI_ENDPOINT", settings.endpoint, { pinned: false }),
      Endpoint.secretHeader("MachineLearning", "MSI_SECRET", settings.secret)
    ]),
    ([, url, secret]) => ({
      url: url.href,
      secret,
      clientId: identity._tag === "ClientId" ? identity.id : settings.defaultClientId
    })
  )

/**
 * `GET $MSI_ENDPOINT?api-version=2017-09-01&resource=…[&clientid=…]` with `secret` and `Metadata: true`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = (checked: Checked, tokenRequest: Request.TokenRequest): Request.Request =>
  Request.get(checked.url, apiVersion, tokenRequest.resource, {
    query: checked.clientId === undefined ? [] : [["clientid", checked.clientId]],
    headers: { secret: checked.secret, Metadata: "true" }
  })
