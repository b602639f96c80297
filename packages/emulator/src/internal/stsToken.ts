/**
 * The STS's token endpoint: Entra's client-credentials exchange of a client assertion, each field checked in Entra's
 * order and answered in its words. Workload identity's assertion is the federated token file's content; a managed
 * identity used as a federated credential sends a token the emulator issued (`federated.ts`).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { type Environment, grant, type Incoming, systemAssigned } from "./endpoint.js"
import * as EmulatorIdentity from "./identity.js"
import { aadsts, entraError, type Grant, type Reply } from "./replies.js"

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/** Scopes a client may add to a client-credentials request besides the resource's `/.default`. */
const oidcScopes = new Set(["openid", "profile", "offline_access", "email"])

/**
 * A client-credentials request as the STS read it, and how to answer in Entra's words at its time and correlation id.
 *
 * @internal
 */
export interface ClientCredentials {
  readonly tenant: string
  readonly clientId: string
  readonly resource: string
  readonly assertion: string
  /** Entra's answer with `AADSTS<code>`. */
  readonly refuse: (code: number) => Reply
}

/** The tenant of a token path, `/{tenant}/oauth2/v2.0/token` (also below the token proxy's path). */
export const tenantOf = (path: string): string => /\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path)?.[1] ?? ""

/**
 * Reads a client-credentials request with a client assertion, checking what Entra checks before it looks at the
 * tenant's trust: the method, `grant_type`, `client_id`, `scope` (one resource's `/.default`), the assertion and its
 * type. `tenantKnown` says whether the path's tenant exists (else `AADSTS90002`).
 *
 * @internal
 */
export const clientCredentials = (
  request: Incoming,
  tenantKnown: (tenant: string) => boolean
): Effect.Effect<ClientCredentials, Reply> =>
  Effect.gen(function*() {
    const at = yield* Clock.currentTimeMillis
    const correlationId = request.headers["client-request-id"] ?? request.query["client-request-id"]
    const refuse = (status: number, error: string, code: number, text: string) =>
      Effect.fail(entraError(status, error, code, text, at, correlationId))
    const known = (code: number) => aadsts(code, at, correlationId)
    if (request.method !== "POST") {
      return yield* refuse(400, "invalid_request", 900561, "The endpoint only accepts POST requests.")
    }
    const tenant = tenantOf(request.path)
    if (!tenantKnown(tenant.toLowerCase())) return yield* Effect.fail(known(90002))
    const form = new URLSearchParams(request.body)
    const field = (name: string) => form.get(name) ?? ""
    const required = (name: string) =>
      refuse(400, "invalid_request", 900144, `The request body must contain the following parameter: '${name}'.`)
    if (field("grant_type") === "") return yield* required("grant_type")
    if (field("grant_type") !== "client_credentials") return yield* Effect.fail(known(70003))
    if (field("client_id") === "") return yield* required("client_id")
    const scopes = field("scope").split(" ").filter((scope) => scope !== "" && !oidcScopes.has(scope))
    if (scopes.length === 0) return yield* required("scope")
    if (scopes.length > 1 || !scopes[0].endsWith("/.default")) {
      return yield* refuse(
        400,
        "invalid_scope",
        1002012,
        "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
      )
    }
    if (field("client_assertion") === "") return yield* Effect.fail(known(7000216))
    if (field("client_assertion_type") !== jwtBearer) {
      return yield* refuse(
        400,
        "invalid_request",
        900144,
        `The request body must contain the following parameter: 'client_assertion_type' with the value '${jwtBearer}'.`
      )
    }
    return {
      tenant,
      clientId: field("client_id"),
      resource: scopes[0].slice(0, -"/.default".length),
      assertion: field("client_assertion"),
      refuse: known
    }
  })

/**
 * Entra's token endpoint for workload identity: the assertion must be the token file's current content (a rotated-out
 * token is expired, `AADSTS700024`).
 *
 * @internal
 */
export const acceptWorkloadIdentity = (request: Incoming, env: Environment): Effect.Effect<Grant, Reply> =>
  Effect.gen(function*() {
    const exchange = yield* clientCredentials(request, (tenant) => tenant === EmulatorIdentity.tenantId)
    const assertion = yield* env.federatedAssertion(exchange.assertion)
    if (assertion === "expired") return yield* Effect.fail(exchange.refuse(700024))
    if (assertion === "unknown") return yield* Effect.fail(exchange.refuse(700211))
    const selector: EmulatorIdentity.Selector =
      exchange.clientId.toLowerCase() === EmulatorIdentity.systemAssigned.WorkloadIdentity.clientId
        ? systemAssigned
        : { _tag: "ClientId", value: exchange.clientId }
    return yield* grant("WorkloadIdentity", exchange.resource, selector, env, () => exchange.refuse(700016))
  })
