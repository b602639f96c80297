/**
 * What the emulated endpoints answer: error bodies in each endpoint's shape, and the success body each sends with a
 * freshly minted token.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import type { Federated } from "./federated.js"
import * as EmulatorIdentity from "./identity.js"
import type { Identity, SourceKind, TokenFault } from "./model.js"
import type { SigningKey } from "./signing.js"

/** @internal */
export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
}

/** @internal */
export const reply = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers,
  body
})

/** @internal */
export const oauthError = (status: number, error: string, description: string): Reply =>
  reply(status, { error, error_description: description })

/** @internal */
export const appServiceError = (status: number, message: string): Reply =>
  reply(status, { statusCode: status, message, correlationId: randomUUID() })

/** @internal */
export const serviceFabricError = (status: number, code: string, message: string): Reply =>
  reply(status, { error: { code, message, correlationId: randomUUID() } })

const entraTimestamp = (at: number) => new Date(at).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z")

/**
 * An error as Microsoft Entra sends it: `AADSTS<code>: <text>` with the trace id, correlation id (the request's
 * `client-request-id` when it sent one) and time in the description, and each of them in a field of its own.
 *
 * @internal
 */
export const entraError = (
  status: number,
  error: string,
  code: number,
  text: string,
  at: number,
  correlationId: string = randomUUID()
): Reply => {
  const traceId = randomUUID()
  const timestamp = entraTimestamp(at)
  return reply(status, {
    error,
    error_description:
      `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId
  })
}

/** Some of Entra's answers, by AADSTS code: status, OAuth error and text. */
const aadstsErrors: Readonly<Record<number, readonly [number, string, string]>> = {
  50000: [500, "server_error", "There was an error issuing a token."],
  70003: [400, "unsupported_grant_type", "The app requested an unsupported grant type."],
  70011: [400, "invalid_scope", "The provided value for the input parameter 'scope' is not valid."],
  90002: [400, "invalid_request", "Tenant not found."],
  90014: [400, "invalid_request", "The request body must contain a required parameter."],
  90033: [503, "temporarily_unavailable", "A transient error has occurred. Please try again."],
  500011: [400, "invalid_resource", "The resource principal was not found in the tenant."],
  700016: [400, "unauthorized_client", "Application with the identifier was not found in the directory."],
  700024: [400, "invalid_client", "Client assertion is not within its valid time range."],
  700211: [400, "invalid_client", "No matching federated identity record found for presented assertion issuer."],
  700212: [400, "invalid_client", "No matching federated identity record found for presented assertion audience."],
  700213: [400, "invalid_client", "No matching federated identity record found for presented assertion subject."],
  7000216: [
    401,
    "invalid_client",
    "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type."
  ]
}

/**
 * Entra's answer with `AADSTS<code>` (a code the emulator does not know: `400 invalid_request`).
 *
 * @internal
 */
export const aadsts = (code: number, at: number, correlationId?: string): Reply => {
  const [status, error, text] = aadstsErrors[code] ?? [400, "invalid_request", "Emulated Entra error."]
  return entraError(status, error, code, text, at, correlationId)
}

/**
 * The body an endpoint sends with an error status, in that endpoint's shape; used for scripted status faults
 * that give no body.
 *
 * @internal
 */
export const errorBody = (kind: SourceKind, status: number, message: string, at: number): unknown => {
  switch (kind) {
    case "WorkloadIdentity":
    case "FederatedCredential":
      return entraError(
        status,
        status >= 500 ? "server_error" : "invalid_request",
        status >= 500 ? 50000 : 90014,
        message,
        at
      )
        .body
    case "Imds":
    case "AzureArc":
    case "CloudShell":
      return oauthError(status, status >= 500 ? "server_error" : "invalid_request", message).body
    case "AppService":
    case "MachineLearning":
      return appServiceError(status, message).body
    case "ServiceFabric":
      return serviceFabricError(status, status >= 500 ? "InternalServerError" : "BadRequest", message).body
  }
}

/**
 * A request the endpoint accepts: the resource, and the identity to issue a token for.
 *
 * @internal
 */
export interface Grant {
  readonly resource: string
  readonly identity: Identity
  /** Whether the request named a user-assigned identity (Azure Arc and Azure ML then echo it). */
  readonly userAssigned: boolean
}

/** A token as issued for a grant: what the success bodies are made of. */
interface Issued extends Grant {
  readonly accessToken: string
  readonly issuedAt: number
  readonly expiresOn: number
  readonly lifetime: number
}

/** Entra's success body. */
const entraBody = (token: Issued) => ({
  token_type: "Bearer",
  expires_in: token.lifetime,
  ext_expires_in: token.lifetime,
  ...(token.lifetime >= 7200 ? { refresh_in: Math.floor(token.lifetime / 2) } : {}),
  access_token: token.accessToken
})

/** Each endpoint's success body, field for field (IMDS and App Service also echo the client id). */
const successBody: { readonly [K in SourceKind]: (token: Issued) => unknown } = {
  Imds: (token) => ({
    access_token: token.accessToken,
    client_id: token.identity.clientId,
    expires_in: String(token.lifetime),
    expires_on: String(token.expiresOn),
    ext_expires_in: String(token.lifetime),
    not_before: String(token.issuedAt),
    resource: token.resource,
    token_type: "Bearer"
  }),
  AppService: (token) => ({
    access_token: token.accessToken,
    expires_on: String(token.expiresOn),
    resource: token.resource,
    token_type: "Bearer",
    client_id: token.identity.clientId
  }),
  MachineLearning: (token) => ({
    access_token: token.accessToken,
    expires_on: String(token.expiresOn),
    resource: token.resource,
    token_type: "Bearer",
    ...(token.userAssigned ? { clientid: token.identity.clientId } : {})
  }),
  CloudShell: (token) => ({
    access_token: token.accessToken,
    refresh_token: "",
    expires_in: String(token.lifetime),
    expires_on: String(token.expiresOn),
    not_before: String(token.issuedAt),
    resource: token.resource,
    token_type: "Bearer"
  }),
  ServiceFabric: (token) => ({
    access_token: token.accessToken,
    expires_on: token.expiresOn,
    token_type: "Bearer",
    resource: token.resource
  }),
  WorkloadIdentity: (token) => entraBody(token),
  FederatedCredential: (token) => entraBody(token),
  AzureArc: (token) => ({
    access_token: token.accessToken,
    expires_in: token.lifetime,
    expires_on: String(token.expiresOn),
    not_before: String(token.issuedAt),
    resource: token.resource,
    token_type: "Bearer",
    ...(token.userAssigned
      ? {
        client_id: token.identity.clientId,
        object_id: token.identity.objectId,
        msi_res_id: token.identity.resourceId
      }
      : {})
  })
}

/**
 * A token for `granted`, minted now (by the `Clock`) and signed with `signingKey`, in the success body of the endpoint
 * of `kind`. A token fault makes it name the emulator's other identity (which the body then echoes where the endpoint
 * echoes one), or shifts its `iat`, `nbf` and `exp` claims by its skew. `federated.remember` is told of the token (for
 * the STS to recognise it as an assertion).
 *
 * @internal
 */
export const issue = (
  kind: SourceKind,
  granted: Grant,
  { federated, lifetime, signingKey }: {
    readonly lifetime: number
    readonly signingKey: SigningKey
    readonly federated: Pick<Federated, "remember">
  },
  fault: Option.Option<TokenFault> = Option.none()
): Effect.Effect<Reply> =>
  Effect.flatMap(Clock.currentTimeMillis, (millis) => {
    const issuedAt = Math.floor(millis / 1000)
    const identity = Option.exists(fault, (step) => "otherIdentity" in step)
      ? EmulatorIdentity.otherIdentity
      : granted.identity
    const skew = Option.match(fault, { onNone: () => 0, onSome: (step) => "skew" in step ? step.skew : 0 })
    const { resource } = granted
    const accessToken = EmulatorIdentity.mintToken(signingKey, {
      kind,
      identity,
      resource,
      issuedAt: issuedAt + skew,
      lifetime
    })
    return Effect.as(
      federated.remember(accessToken, { kind, audience: resource, expiresOn: issuedAt + skew + lifetime }),
      reply(
        200,
        successBody[kind]({ ...granted, identity, accessToken, issuedAt, expiresOn: issuedAt + lifetime, lifetime })
      )
    )
  })
