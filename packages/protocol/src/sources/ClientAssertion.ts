/**
 * Microsoft Entra's client-credentials exchange with a client assertion, which AKS workload identity (the projected
 * service-account token) and a managed identity used as a federated credential (the managed identity's own token)
 * both send: `POST <authority>/<tenant>/oauth2/v2.0/token` with the form `client_id`, `scope`,
 * `grant_type=client_credentials`, `client_assertion_type` (jwt-bearer) and `client_assertion`.
 *
 * @since 0.1.0
 */
import * as Problem from "../Problem.js"
import * as Request from "../Request.js"
import * as Result from "../Result.js"
import type { SourceKind } from "../SourceKind.js"

/**
 * The authority when `AZURE_AUTHORITY_HOST` is not set.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAuthorityHost = "https://login.microsoftonline.com"

/**
 * The `client_assertion_type` of the exchange.
 *
 * @since 0.1.0
 * @category constants
 */
export const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/**
 * Who checks a setting and what the user calls it: the source whose configuration it is, and the names of the
 * variables (or options) holding the tenant and the authority, which messages name.
 *
 * @since 0.1.0
 * @category models
 */
export interface Names {
  readonly source: SourceKind
  readonly tenant: string
  readonly authority: string
}

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const domain = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i

/**
 * Checks a tenant: a GUID or a domain-like name (`contoso.onmicrosoft.com`), so it cannot change the token path.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkTenant = (names: Names, tenantId: string): Result.Result<string, Problem.InvalidIdentity> =>
  guid.test(tenantId) || domain.test(tenantId)
    ? Result.ok(tenantId)
    : Result.err(
      Problem.invalidIdentity(
        names.source,
        `${names.tenant} must be a GUID or a domain name such as contoso.onmicrosoft.com`
      )
    )

/**
 * Checks a client id: a GUID, as Entra's application (client) ids are.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkClientId = (
  source: SourceKind,
  name: string,
  clientId: string
): Result.Result<string, Problem.InvalidIdentity> =>
  guid.test(clientId.trim())
    ? Result.ok(clientId.trim())
    : Result.err(Problem.invalidIdentity(source, `${name} must be a GUID (an application's client id)`))

/**
 * The token URL for an authority and a tenant, `<authority>/<tenant>/oauth2/v2.0/token`, once both are checked: the
 * authority must be an https URL without userinfo, query or fragment (a trailing `/` is ignored).
 *
 * @since 0.1.0
 * @category constructors
 */
export const tokenUrl = (
  names: Names,
  authorityHost: string,
  tenantId: string
): Result.Result<URL, Problem.InvalidIdentity> =>
  Result.flatMap(checkTenant(names, tenantId), (tenant) => {
    const invalid = (reason: string) =>
      Result.err(Problem.invalidIdentity(names.source, `${names.authority} ${reason}`))
    let url: URL
    try {
      url = new URL(authorityHost)
    } catch {
      return invalid("is not a URL")
    }
    if (url.protocol !== "https:") return invalid("must be an https URL")
    if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
      return invalid("must not contain userinfo, a query or a fragment")
    }
    return Result.ok(new URL(`${url.origin}${url.pathname.replace(/\/+$/, "")}/${tenant}/oauth2/v2.0/token`))
  })

/**
 * `POST` to `url` the form `client_id`, `scope` (the resource + `/.default`), `grant_type=client_credentials`,
 * `client_assertion_type`, `client_assertion` and, for a claims challenge, `claims`. The assertion is one of the
 * request's secrets, so no text taken from the answer shows it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = (
  url: string,
  clientId: string,
  clientAssertion: string,
  tokenRequest: Request.TokenRequest
): Request.Request =>
  Request.make({
    method: "POST",
    url,
    headers: { accept: "application/json" },
    form: [
      ["client_id", clientId],
      ["scope", `${tokenRequest.resource}/.default`],
      ["grant_type", "client_credentials"],
      ["client_assertion_type", clientAssertionType],
      ["client_assertion", clientAssertion],
      ...(tokenRequest.claims === undefined ? [] : [["claims", tokenRequest.claims] as const])
    ],
    secretsInForm: [clientAssertion]
  })
