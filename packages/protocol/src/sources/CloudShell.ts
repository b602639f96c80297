/**
 * Azure Cloud Shell (`MSI_ENDPOINT` without `MSI_SECRET`): the signed-in user's token, as msal-node and MSAL .NET get
 * it. It sends no secret, so its endpoint only has to be an http or https URL.
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
 * @category models
 */
export const facts: Source.Facts<"CloudShell"> = Source.make({
  kind: "CloudShell",
  variables: [{ name: "MSI_ENDPOINT", role: "url" }],
  detectionVariables: ["MSI_ENDPOINT"],
  detect: "MSI_ENDPOINT is set without MSI_SECRET",
  endpoint: (lookup) => lookup("MSI_ENDPOINT"),
  retry: "Default"
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Checked {
  readonly url: string
}

/**
 * Checks the settings: only the system-assigned identity (the signed-in user's), an http or https endpoint.
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (
  endpoint: string,
  identity: Identity.Identity
): Result.Result<Checked, Problem.InvalidIdentity> =>
  Result.map(
    Result.all([
      Identity.accept("CloudShell", identity, ["SystemAssigned"]),
      Endpoint.publicEndpoint("CloudShell", "MSI_ENDPOINT", endpoint)
    ]),
    ([, url]) => ({ url: url.href })
  )

/**
 * `POST $MSI_ENDPOINT` with `Metadata: true` and the form `resource=…`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = (checked: Checked, tokenRequest: Request.TokenRequest): Request.Request =>
  Request.make({
    method: "POST",
    url: checked.url,
    headers: { Metadata: "true" },
    form: [["resource", tokenRequest.resource]]
  })
