/**
 * AKS workload identity (`AZURE_FEDERATED_TOKEN_FILE` + `AZURE_TENANT_ID` + a client id): the service-account token
 * kubelet projects into the pod is exchanged at Microsoft Entra for an access token, in one request and without a
 * discovery request; with identity bindings, at the cluster's token proxy.
 *
 * @since 0.1.0
 */
import * as FileRead from "../FileRead.js"
import * as Identity from "../Identity.js"
import * as Problem from "../Problem.js"
import type * as Request from "../Request.js"
import * as Result from "../Result.js"
import * as Source from "../Source.js"
import { titles } from "../SourceKind.js"
import * as ClientAssertion from "./ClientAssertion.js"
import * as IdentityBindings from "./IdentityBindings.js"

/**
 * The authority when `AZURE_AUTHORITY_HOST` is not set.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAuthorityHost = ClientAssertion.defaultAuthorityHost

/**
 * The `client_assertion_type` of the exchange.
 *
 * @since 0.1.0
 * @category constants
 */
export const clientAssertionType = ClientAssertion.clientAssertionType

/**
 * Token files are a few KiB (a service-account JWT): a larger one is refused unread.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxTokenFileBytes = 64 * 1024

const invalid = (reason: string) => Problem.invalidIdentity("WorkloadIdentity", reason)

const names: ClientAssertion.Names = {
  source: "WorkloadIdentity",
  tenant: "AZURE_TENANT_ID",
  authority: "AZURE_AUTHORITY_HOST"
}

/**
 * Checks a tenant: a GUID or a domain-like name (`contoso.onmicrosoft.com`), so it cannot change the token path.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkTenant = (tenantId: string): Result.Result<string, Problem.InvalidIdentity> =>
  ClientAssertion.checkTenant(names, tenantId)

/**
 * The token URL for an authority and a tenant, `<authority>/<tenant>/oauth2/v2.0/token`, once both are checked: the
 * authority must be an https URL without userinfo, query or fragment (a trailing `/` is ignored).
 *
 * @since 0.1.0
 * @category constructors
 */
export const tokenUrl = (authorityHost: string, tenantId: string): Result.Result<URL, Problem.InvalidIdentity> =>
  ClientAssertion.tokenUrl(names, authorityHost, tenantId)

/**
 * Detected with the token file, the tenant and a client id (the `ClientId` identity in use, else `AZURE_CLIENT_ID`);
 * when only some of them are there, a note says which is missing.
 */
const detect = (context: Source.DetectionContext): Source.Verdict => {
  const file = context.isSet("AZURE_FEDERATED_TOKEN_FILE")
  const tenant = context.isSet("AZURE_TENANT_ID")
  const clientId = context.clientIdConfigured
    ? "the configured ClientId identity"
    : context.isSet("AZURE_CLIENT_ID")
    ? "AZURE_CLIENT_ID"
    : undefined
  if (file && tenant && clientId !== undefined) {
    return {
      _tag: "Detected",
      reason: `AZURE_FEDERATED_TOKEN_FILE and AZURE_TENANT_ID are set, the client id is ${clientId}`
    }
  }
  if (!file && !tenant) return { _tag: "Passed" }
  const missing = [
    ...(file ? [] : ["AZURE_FEDERATED_TOKEN_FILE"]),
    ...(tenant ? [] : ["AZURE_TENANT_ID"]),
    ...(clientId !== undefined ? [] : ["a client id (a ClientId identity or AZURE_CLIENT_ID)"])
  ]
  return { _tag: "Passed", notes: [`${titles.WorkloadIdentity} skipped: ${missing.join(" and ")} missing`] }
}

/**
 * @since 0.1.0
 * @category models
 */
export const facts: Source.Facts<"WorkloadIdentity"> = Source.make({
  kind: "WorkloadIdentity",
  variables: [
    { name: "AZURE_FEDERATED_TOKEN_FILE", role: "path" },
    { name: "AZURE_TENANT_ID", role: "value" },
    { name: "AZURE_CLIENT_ID", role: "value" },
    { name: "AZURE_AUTHORITY_HOST", role: "url" },
    { name: IdentityBindings.variables.url, role: "url" },
    { name: IdentityBindings.variables.sniName, role: "value" },
    { name: IdentityBindings.variables.caFile, role: "path" },
    { name: IdentityBindings.variables.caData, role: "value" }
  ],
  detectionVariables: ["AZURE_FEDERATED_TOKEN_FILE", "AZURE_TENANT_ID", "AZURE_CLIENT_ID"],
  presentWhen: ["AZURE_FEDERATED_TOKEN_FILE", "AZURE_TENANT_ID"],
  detect,
  endpoint: (lookup, identityBindings) => {
    const proxy = identityBindings ? lookup(IdentityBindings.variables.url) : undefined
    if (proxy !== undefined) return proxy
    const tenant = lookup("AZURE_TENANT_ID")
    if (tenant === undefined) return undefined
    const url = tokenUrl(lookup("AZURE_AUTHORITY_HOST") ?? defaultAuthorityHost, tenant)
    return url._tag === "Ok" ? url.value.href : undefined
  },
  retry: "Default"
})

/**
 * `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` (what a system-assigned identity means here), `AZURE_AUTHORITY_HOST`, and
 * identity bindings' proxy when they are on.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly tenantId: string
  readonly clientId?: string | undefined
  readonly authorityHost?: string | undefined
  readonly tokenProxy?: IdentityBindings.TokenProxy | undefined
}

/**
 * A checked source: the client id the identity selects, where the exchange goes, and the proxy it goes through.
 *
 * @since 0.1.0
 * @category models
 */
export interface Checked {
  readonly clientId: string
  readonly url: string
  readonly proxy: IdentityBindings.Checked | undefined
}

/** The client id the identity selects: `AZURE_CLIENT_ID` for system-assigned, the id for `ClientId`. */
const clientIdOf = (
  identity: Identity.Identity,
  configured: string | undefined
): Result.Result<string, Problem.InvalidIdentity> =>
  Result.flatMap(
    Identity.accept("WorkloadIdentity", identity, ["SystemAssigned", "ClientId"]),
    (accepted) =>
      accepted._tag === "ClientId"
        ? Result.ok(accepted.id)
        : configured !== undefined && configured.trim() !== ""
        ? Result.ok(configured.trim())
        : Result.err(invalid("the system-assigned identity here is AZURE_CLIENT_ID's, and it is not set"))
  )

/**
 * Checks the settings: a resource id or object id is refused, the authority must be https and the tenant a GUID or a
 * domain name, identity bindings' settings must make sense (`IdentityBindings.check`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (
  settings: Settings,
  identity: Identity.Identity
): Result.Result<Checked, Problem.InvalidIdentity> =>
  Result.flatMap(
    clientIdOf(identity, settings.clientId),
    (clientId) =>
      Result.flatMap(tokenUrl(settings.authorityHost ?? defaultAuthorityHost, settings.tenantId), (authority) => {
        if (settings.tokenProxy === undefined) {
          return Result.ok<Checked>({ clientId, url: authority.href, proxy: undefined })
        }
        return Result.map(
          IdentityBindings.check(settings.tokenProxy, authority.pathname),
          (proxy): Checked => ({ clientId, url: proxy.url, proxy })
        )
      })
  )

/**
 * A token file that could not be read: nothing is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tokenFileUnread = (
  checked: Pick<Checked, "url">,
  path: string,
  failure: FileRead.Failure
): Problem.SourceUnavailable =>
  Problem.sourceUnavailable(
    "WorkloadIdentity",
    checked.url,
    `AZURE_FEDERATED_TOKEN_FILE ${path} ${FileRead.describe(failure, maxTokenFileBytes)}`
  )

/**
 * The assertion in the bytes of the token file at `path`: its text, trimmed; an empty one is a `SourceUnavailable`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const assertion = (
  checked: Pick<Checked, "url">,
  path: string,
  bytes: Uint8Array
): Result.Result<string, Problem.SourceUnavailable> => {
  const text = new TextDecoder().decode(bytes).trim()
  return text === ""
    ? Result.err(
      Problem.sourceUnavailable("WorkloadIdentity", checked.url, `AZURE_FEDERATED_TOKEN_FILE ${path} is empty`)
    )
    : Result.ok(text)
}

/**
 * `POST` the form `client_id`, `scope` (the resource + `/.default`), `grant_type=client_credentials`,
 * `client_assertion_type`, `client_assertion` and, for a claims challenge, `claims` (`ClientAssertion.request`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = (
  checked: Checked,
  clientAssertion: string,
  tokenRequest: Request.TokenRequest
): Request.Request => ClientAssertion.request(checked.url, checked.clientId, clientAssertion, tokenRequest)
