/**
 * What AKS workload identity's exchange is made of, checked: the tenant and the authority (the token URL), the client
 * id the identity selects, and the assertion read from the token file.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type * as ManagedIdentity from "../ManagedIdentity.js"
import { InvalidIdentity, SourceUnavailable } from "../ManagedIdentityError.js"
import * as EndpointRules from "./endpointRules.js"
import * as FileReader from "./fileReader.js"

const invalid = (reason: string) => new InvalidIdentity({ source: "WorkloadIdentity", reason })

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const domain = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i

/**
 * A tenant checked: a GUID or a domain-like name, so it cannot change the token path (public as
 * `WorkloadIdentityTokenSource.checkTenant`).
 */
export const checkTenant = (tenantId: string): Either.Either<string, InvalidIdentity> =>
  guid.test(tenantId) || domain.test(tenantId)
    ? Either.right(tenantId)
    : Either.left(invalid("AZURE_TENANT_ID must be a GUID or a domain name such as contoso.onmicrosoft.com"))

/**
 * The token URL `<authority>/<tenant>/oauth2/v2.0/token`, once both are checked (public as
 * `WorkloadIdentityTokenSource.tokenUrl`).
 */
export const tokenUrl = (authorityHost: string, tenantId: string): Either.Either<URL, InvalidIdentity> =>
  Either.flatMap(checkTenant(tenantId), (tenant) => {
    let url: URL
    try {
      url = new URL(authorityHost)
    } catch {
      return Either.left(invalid("AZURE_AUTHORITY_HOST is not a URL"))
    }
    if (url.protocol !== "https:") return Either.left(invalid("AZURE_AUTHORITY_HOST must be an https URL"))
    if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
      return Either.left(invalid("AZURE_AUTHORITY_HOST must not contain userinfo, a query or a fragment"))
    }
    return Either.right(new URL(`${url.origin}${url.pathname.replace(/\/+$/, "")}/${tenant}/oauth2/v2.0/token`))
  })

/** The client id the identity selects: `AZURE_CLIENT_ID` for system-assigned, the id for `ClientId`. */
export const clientIdOf = (
  identity: ManagedIdentity.Identity,
  configured: string | undefined
): Either.Either<string, InvalidIdentity> =>
  Either.flatMap(
    EndpointRules.acceptIdentity("WorkloadIdentity", identity, ["SystemAssigned", "ClientId"]),
    (accepted) =>
      accepted._tag === "ClientId"
        ? Either.right(accepted.id)
        : configured !== undefined && configured.trim() !== ""
        ? Either.right(configured.trim())
        : Either.left(invalid("the system-assigned identity here is AZURE_CLIENT_ID's, and it is not set"))
  )

/** Token files are a few KiB (a service-account JWT): a larger one is refused unread. */
export const maxTokenFileBytes = 64 * 1024

/**
 * The assertion: the token file's current content, `Redacted` from the moment it is read. The file is read by `read`
 * with links followed (kubelet projects it through a link) and at most {@link maxTokenFileBytes}: a FIFO, a device, a
 * directory, a larger file, a missing or empty one is a `SourceUnavailable` naming `AZURE_FEDERATED_TOKEN_FILE`.
 */
export const readAssertion = (read: FileReader.Read, path: string, endpoint: string) => {
  const unavailable = (reason: string) =>
    new SourceUnavailable({ source: "WorkloadIdentity", endpoint, reason: `AZURE_FEDERATED_TOKEN_FILE ${reason}` })
  return read(path, { maxBytes: maxTokenFileBytes, followLinks: true }).pipe(
    Effect.mapError((failure) => unavailable(`${path} ${FileReader.describe(failure, maxTokenFileBytes)}`)),
    Effect.flatMap((bytes) => {
      const assertion = new TextDecoder().decode(bytes).trim()
      return assertion === "" ? Effect.fail(unavailable(`${path} is empty`)) : Effect.succeed(Redacted.make(assertion))
    })
  )
}
