/**
 * The workload identity STS's token endpoint: Entra's client-credentials exchange of a federated token, each field
 * checked in Entra's order and answered in its words.
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
 * Entra's token endpoint for workload identity: `POST /{tenant}/oauth2/v2.0/token` (also below the token proxy's
 * path) with the form of a client-credentials grant whose credential is the federated token: every field is checked,
 * and the assertion must be the token file's current content (a rotated-out token is expired, `AADSTS700024`).
 *
 * @internal
 */
export const acceptWorkloadIdentity = (request: Incoming, env: Environment): Effect.Effect<Grant, Reply> =>
  Effect.gen(function*() {
    const at = yield* Clock.currentTimeMillis
    const correlationId = request.headers["client-request-id"] ?? request.query["client-request-id"]
    const refuse = (status: number, error: string, code: number, text: string) =>
      Effect.fail(entraError(status, error, code, text, at, correlationId))
    const known = (code: number) => Effect.fail(aadsts(code, at, correlationId))
    if (request.method !== "POST") {
      return yield* refuse(400, "invalid_request", 900561, "The endpoint only accepts POST requests.")
    }
    const tenant = /\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(request.path)?.[1] ?? ""
    if (tenant.toLowerCase() !== EmulatorIdentity.tenantId) return yield* known(90002)
    const form = new URLSearchParams(request.body)
    const field = (name: string) => form.get(name) ?? ""
    const required = (name: string) =>
      refuse(400, "invalid_request", 900144, `The request body must contain the following parameter: '${name}'.`)
    if (field("grant_type") === "") return yield* required("grant_type")
    if (field("grant_type") !== "client_credentials") return yield* known(70003)
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
    if (field("client_assertion") === "") return yield* known(7000216)
    if (field("client_assertion_type") !== jwtBearer) {
      return yield* refuse(
        400,
        "invalid_request",
        900144,
        `The request body must contain the following parameter: 'client_assertion_type' with the value '${jwtBearer}'.`
      )
    }
    const assertion = yield* env.federatedAssertion(field("client_assertion"))
    if (assertion === "expired") return yield* known(700024)
    if (assertion === "unknown") return yield* known(700211)
    const clientId = field("client_id")
    const selector: EmulatorIdentity.Selector =
      clientId.toLowerCase() === EmulatorIdentity.systemAssigned.WorkloadIdentity.clientId
        ? systemAssigned
        : { _tag: "ClientId", value: clientId }
    return yield* grant(
      "WorkloadIdentity",
      scopes[0].slice(0, -"/.default".length),
      selector,
      env,
      () => aadsts(700016, at, correlationId)
    )
  })
