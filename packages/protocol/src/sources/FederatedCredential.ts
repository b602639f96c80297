/**
 * A managed identity as a federated credential of an application (Microsoft Entra's "configure an application to trust
 * a managed identity"): the managed identity's token for the token-exchange audience is the `client_assertion` of a
 * client-credentials exchange for the application, usually in another tenant. Hop 1 is any managed identity source;
 * hop 2 is the exchange `ClientAssertion` states. It is never detected: a program asks for it.
 *
 * @since 0.1.0
 */
import * as Problem from "../Problem.js"
import type * as Request from "../Request.js"
import * as Result from "../Result.js"
import * as Source from "../Source.js"
import * as ClientAssertion from "./ClientAssertion.js"

/**
 * The token-exchange audience of Azure's public cloud, the default; `audiences` has the sovereign clouds'.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAudience = "api://AzureADTokenExchange"

/**
 * The token-exchange audience of each cloud.
 *
 * @since 0.1.0
 * @category constants
 */
export const audiences = {
  public: defaultAudience,
  usGovernment: "api://AzureADTokenExchangeUSGov",
  china: "api://AzureADTokenExchangeChina"
} as const

/**
 * The variables `layerConfig` reads: the application's client id and tenant, the audience (optional), and the
 * authority (`AZURE_AUTHORITY_HOST`, optional, shared with workload identity).
 *
 * @since 0.1.0
 * @category constants
 */
export const variables = {
  clientId: "MANAGED_IDENTITY_FEDERATED_CLIENT_ID",
  tenantId: "MANAGED_IDENTITY_FEDERATED_TENANT_ID",
  audience: "MANAGED_IDENTITY_FEDERATED_AUDIENCE",
  authorityHost: "AZURE_AUTHORITY_HOST"
} as const

const names: ClientAssertion.Names = {
  source: "FederatedCredential",
  tenant: variables.tenantId,
  authority: variables.authorityHost
}

/**
 * @since 0.1.0
 * @category models
 */
export const facts: Source.Facts<"FederatedCredential"> = Source.make({
  kind: "FederatedCredential",
  variables: [
    { name: variables.clientId, role: "value" },
    { name: variables.tenantId, role: "value" },
    { name: variables.audience, role: "value" },
    { name: variables.authorityHost, role: "url" }
  ],
  detectionVariables: [],
  presentWhen: [variables.clientId, variables.tenantId],
  detect: () => ({ _tag: "Passed" }),
  endpoint: (lookup) => {
    const tenant = lookup(variables.tenantId)
    if (tenant === undefined) return undefined
    const url = ClientAssertion.tokenUrl(
      names,
      lookup(variables.authorityHost) ?? ClientAssertion.defaultAuthorityHost,
      tenant
    )
    return url._tag === "Ok" ? url.value.href : undefined
  },
  retry: "Default"
})

/**
 * The application that trusts the managed identity: its client id and tenant; the audience of the managed identity's
 * token (default {@link defaultAudience}); the authority (default `https://login.microsoftonline.com`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly clientId: string
  readonly tenantId: string
  readonly audience?: string | undefined
  readonly authorityHost?: string | undefined
}

/**
 * Checked settings: the application's client id, where the exchange goes, the audience hop 1 asks for.
 *
 * @since 0.1.0
 * @category models
 */
export interface Checked {
  readonly clientId: string
  readonly url: string
  readonly audience: string
}

/**
 * Checks the settings: the client id must be a GUID, the tenant a GUID or a domain name, the authority an https URL,
 * the audience a non-empty text without whitespace.
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (settings: Settings): Result.Result<Checked, Problem.InvalidIdentity> => {
  const audience = (settings.audience ?? defaultAudience).trim()
  if (audience === "" || /\s/.test(audience)) {
    return Result.err(
      Problem.invalidIdentity(
        "FederatedCredential",
        `${variables.audience} must be an audience such as ${defaultAudience}`
      )
    )
  }
  return Result.flatMap(
    ClientAssertion.checkClientId("FederatedCredential", variables.clientId, settings.clientId),
    (clientId) =>
      Result.map(
        ClientAssertion.tokenUrl(
          names,
          settings.authorityHost ?? ClientAssertion.defaultAuthorityHost,
          settings.tenantId
        ),
        (url): Checked => ({ clientId, url: url.href, audience })
      )
  )
}

/**
 * Hop 2: the exchange of the managed identity's token for the application's token (`ClientAssertion.request`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = (
  checked: Checked,
  managedIdentityToken: string,
  tokenRequest: Request.TokenRequest
): Request.Request => ClientAssertion.request(checked.url, checked.clientId, managedIdentityToken, tokenRequest)
