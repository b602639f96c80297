import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import type { Identity, SourceKind } from "../ManagedIdentityEmulator.js"
import * as EmulatorIdentity from "./emulatorIdentity.js"

/** @internal */
export interface Incoming {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** @internal */
export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
}

/** @internal */
export interface Environment {
  readonly secrets: {
    readonly identityHeader: string
    readonly msiSecret: string
    readonly serviceFabricSecret: string
  }
  readonly lifetime: number
  readonly knownIdentities: Option.Option<ReadonlyArray<Identity>>
  /** Writes a fresh Arc key file and answers the realm naming it. */
  readonly arcChallenge: Effect.Effect<string, unknown>
  /** Whether the key is one issued and not used yet; a valid key is used up. */
  readonly arcRedeem: (key: string) => Effect.Effect<boolean>
}

const apiVersions: Readonly<Record<Exclude<SourceKind, "CloudShell">, string>> = {
  Imds: "2018-02-01",
  AppService: "2019-08-01",
  ServiceFabric: "2019-07-01-preview",
  AzureArc: "2020-06-01",
  MachineLearning: "2017-09-01"
}

const reply = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers,
  body
})

const oauthError = (status: number, error: string, description: string): Reply =>
  reply(status, { error, error_description: description })

const appServiceError = (status: number, message: string): Reply =>
  reply(status, { statusCode: status, message, correlationId: randomUUID() })

const serviceFabricError = (status: number, code: string, message: string): Reply =>
  reply(status, { error: { code, message, correlationId: randomUUID() } })

/**
 * The body an endpoint sends with an error status, in that endpoint's shape; used for scripted status faults
 * that give no body.
 *
 * @internal
 */
export const errorBody = (kind: SourceKind, status: number, message: string): unknown => {
  switch (kind) {
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

const hasMetadataHeader = (request: Incoming): boolean => request.headers["metadata"]?.toLowerCase() === "true"

const nonEmpty = (value: string | undefined): value is string => value !== undefined && value !== ""

const apiVersionProblem = (kind: keyof typeof apiVersions, query: Incoming["query"]): Option.Option<string> => {
  const version = query["api-version"]
  if (!nonEmpty(version)) {
    return Option.some("Required query variable 'api-version' is missing")
  }
  return version === apiVersions[kind]
    ? Option.none()
    : Option.some(`The api-version '${version}' is not supported; use '${apiVersions[kind]}'`)
}

interface SelectorNames {
  readonly ClientId: string
  readonly ResourceId: string
  readonly ObjectId: string
}

/** `None` when more than one selector is given. */
const selectorOf = (
  names: SelectorNames,
  values: Readonly<Record<string, string>>
): Option.Option<EmulatorIdentity.Selector> => {
  const given = (["ClientId", "ResourceId", "ObjectId"] as const).flatMap((tag) => {
    const value = values[names[tag]]
    return nonEmpty(value) ? [{ _tag: tag, value }] : []
  })
  if (given.length > 1) {
    return Option.none()
  }
  return Option.some(given.length === 0 ? { _tag: "SystemAssigned" } : given[0])
}

const imdsSelectorNames: SelectorNames = { ClientId: "client_id", ResourceId: "msi_res_id", ObjectId: "object_id" }

interface Issued {
  readonly accessToken: string
  readonly identity: Identity
  readonly issuedAt: number
  readonly expiresOn: number
}

const issue = (kind: SourceKind, identity: Identity, resource: string, lifetime: number) =>
  Effect.map(Clock.currentTimeMillis, (millis): Issued => {
    const issuedAt = Math.floor(millis / 1000)
    return {
      accessToken: EmulatorIdentity.mintToken({ kind, identity, resource, issuedAt, lifetime }),
      identity,
      issuedAt,
      expiresOn: issuedAt + lifetime
    }
  })

/** A check that fails with the reply the endpoint sends; handlers end in `Effect.merge` to send it. */
type Checked<A> = Either.Either<A, Reply>

const methodNotAllowed = (method: string) => `The HTTP method '${method}' is not allowed`

/** The method and `Metadata: true` that IMDS, Azure Arc and Cloud Shell check first. */
const metadataRequest = (request: Incoming, method: string): Checked<void> => {
  if (request.method !== method) {
    return Either.left(oauthError(405, "invalid_request", methodNotAllowed(request.method)))
  }
  if (!hasMetadataHeader(request)) {
    return Either.left(oauthError(400, "invalid_request", "Required metadata header not specified"))
  }
  return Either.void
}

/** What IMDS and Azure Arc validate before anything else: a GET with Metadata, api-version, resource, one selector. */
const imdsRequest = (
  kind: "Imds" | "AzureArc",
  request: Incoming
): Checked<{ readonly resource: string; readonly selector: EmulatorIdentity.Selector }> =>
  Either.gen(function*() {
    yield* metadataRequest(request, "GET")
    const versionProblem = apiVersionProblem(kind, request.query)
    if (Option.isSome(versionProblem)) {
      return yield* Either.left(oauthError(400, "invalid_request", versionProblem.value))
    }
    const resource = request.query["resource"]
    if (!nonEmpty(resource)) {
      return yield* Either.left(oauthError(400, "invalid_request", "Required audience parameter not specified"))
    }
    const selector = selectorOf(imdsSelectorNames, request.query)
    if (Option.isNone(selector)) {
      return yield* Either.left(
        oauthError(400, "invalid_request", "Multiple identities specified; use one of client_id, msi_res_id, object_id")
      )
    }
    return { resource, selector: selector.value }
  })

/** What App Service and Azure ML validate first: a GET with the secret header `name`, api-version and resource. */
const secretHeaderRequest = (
  kind: "AppService" | "MachineLearning",
  request: Incoming,
  header: { readonly name: string; readonly label: string; readonly expected: string }
): Checked<string> => {
  if (request.method !== "GET") {
    return Either.left(appServiceError(405, methodNotAllowed(request.method)))
  }
  const secret = request.headers[header.name]
  if (!nonEmpty(secret)) {
    return Either.left(appServiceError(401, `The ${header.label} header is missing`))
  }
  if (secret !== header.expected) {
    return Either.left(appServiceError(401, `The ${header.label} header is invalid`))
  }
  const versionProblem = apiVersionProblem(kind, request.query)
  if (Option.isSome(versionProblem)) {
    return Either.left(appServiceError(400, versionProblem.value))
  }
  const resource = request.query["resource"]
  if (!nonEmpty(resource)) {
    return Either.left(appServiceError(400, "The 'resource' query parameter is missing"))
  }
  return Either.right(resource)
}

const resolveIdentity = (
  kind: SourceKind,
  selector: EmulatorIdentity.Selector,
  env: Environment,
  notFound: () => Reply
): Checked<Identity> => Either.fromOption(EmulatorIdentity.resolve(kind, selector, env.knownIdentities), notFound)

const identityNotFound = () => oauthError(400, "invalid_request", "Identity not found")

const unknownAppServiceIdentity = () => appServiceError(400, "Unable to load the proper Managed Identity.")

const imds = (request: Incoming, env: Environment) =>
  Effect.gen(function*() {
    const { resource, selector } = yield* imdsRequest("Imds", request)
    const identity = yield* resolveIdentity("Imds", selector, env, identityNotFound)
    const token = yield* issue("Imds", identity, resource, env.lifetime)
    return reply(200, {
      access_token: token.accessToken,
      client_id: token.identity.clientId,
      expires_in: String(env.lifetime),
      expires_on: String(token.expiresOn),
      ext_expires_in: String(env.lifetime),
      not_before: String(token.issuedAt),
      resource,
      token_type: "Bearer"
    })
  }).pipe(Effect.merge)

const appService = (request: Incoming, env: Environment) =>
  Effect.gen(function*() {
    const resource = yield* secretHeaderRequest("AppService", request, {
      name: "x-identity-header",
      label: "X-IDENTITY-HEADER",
      expected: env.secrets.identityHeader
    })
    const selector = selectorOf(
      { ClientId: "client_id", ResourceId: "mi_res_id", ObjectId: "object_id" },
      request.query
    )
    if (Option.isNone(selector)) {
      return appServiceError(400, "Only one of client_id, mi_res_id, object_id may be specified")
    }
    const identity = yield* resolveIdentity("AppService", selector.value, env, unknownAppServiceIdentity)
    const token = yield* issue("AppService", identity, resource, env.lifetime)
    return reply(200, {
      access_token: token.accessToken,
      expires_on: String(token.expiresOn),
      resource,
      token_type: "Bearer",
      client_id: token.identity.clientId
    })
  }).pipe(Effect.merge)

const machineLearning = (request: Incoming, env: Environment) =>
  Effect.gen(function*() {
    const resource = yield* secretHeaderRequest("MachineLearning", request, {
      name: "secret",
      label: "secret",
      expected: env.secrets.msiSecret
    })
    const clientId = request.query["clientid"]
    const identity = yield* resolveIdentity(
      "MachineLearning",
      nonEmpty(clientId) ? { _tag: "ClientId", value: clientId } : { _tag: "SystemAssigned" },
      env,
      unknownAppServiceIdentity
    )
    const token = yield* issue("MachineLearning", identity, resource, env.lifetime)
    return reply(200, {
      access_token: token.accessToken,
      expires_on: String(token.expiresOn),
      resource,
      token_type: "Bearer",
      ...(nonEmpty(clientId) ? { clientid: token.identity.clientId } : {})
    })
  }).pipe(Effect.merge)

const cloudShell = (request: Incoming, env: Environment) =>
  Effect.gen(function*() {
    yield* metadataRequest(request, "POST")
    const form = Object.fromEntries(new URLSearchParams(request.body))
    const resource = form["resource"]
    if (!nonEmpty(resource)) {
      return oauthError(400, "invalid_request", "Required audience parameter not specified")
    }
    const selector = selectorOf(imdsSelectorNames, { ...request.query, ...form })
    if (Option.isNone(selector) || selector.value._tag !== "SystemAssigned") {
      return oauthError(400, "invalid_request", "User-assigned managed identities are not supported in Cloud Shell")
    }
    const token = yield* issue("CloudShell", EmulatorIdentity.systemAssigned.CloudShell, resource, env.lifetime)
    return reply(200, {
      access_token: token.accessToken,
      refresh_token: "",
      expires_in: String(env.lifetime),
      expires_on: String(token.expiresOn),
      not_before: String(token.issuedAt),
      resource,
      token_type: "Bearer"
    })
  }).pipe(Effect.merge)

const serviceFabric = (request: Incoming, env: Environment) =>
  Effect.gen(function*() {
    if (request.method !== "GET") {
      return serviceFabricError(405, "MethodNotAllowed", methodNotAllowed(request.method))
    }
    const secret = request.headers["secret"]
    if (!nonEmpty(secret)) {
      return serviceFabricError(401, "SecretHeaderNotFound", "Secret is not found in the request headers.")
    }
    if (secret !== env.secrets.serviceFabricSecret) {
      return serviceFabricError(401, "InvalidSecret", "The secret in the request headers is not valid.")
    }
    const versionProblem = apiVersionProblem("ServiceFabric", request.query)
    if (Option.isSome(versionProblem)) {
      return serviceFabricError(400, "InvalidApiVersion", versionProblem.value)
    }
    const resource = request.query["resource"]
    if (!nonEmpty(resource)) {
      return serviceFabricError(400, "ArgumentNullOrEmpty", "Value cannot be null or empty. Parameter name: resource")
    }
    const token = yield* issue("ServiceFabric", EmulatorIdentity.systemAssigned.ServiceFabric, resource, env.lifetime)
    return reply(200, {
      access_token: token.accessToken,
      expires_on: token.expiresOn,
      token_type: "Bearer",
      resource
    })
  })

const arcChallenge = (env: Environment) =>
  env.arcChallenge.pipe(
    Effect.map((realm) =>
      reply(401, {
        error: "unauthorized_client",
        error_description: "Authorization is required: read the key file named in the WWW-Authenticate realm"
      }, { "WWW-Authenticate": `Basic realm=${realm}` })
    ),
    Effect.catchAll(() => Effect.succeed(oauthError(500, "server_error", "Could not write the key file")))
  )

const azureArc = (request: Incoming, env: Environment) =>
  Effect.gen(function*() {
    const { resource, selector } = yield* imdsRequest("AzureArc", request)
    const authorization = request.headers["authorization"]
    if (!nonEmpty(authorization)) {
      return yield* arcChallenge(env)
    }
    const [scheme, key] = authorization.split(" ", 2)
    const valid = scheme.toLowerCase() === "basic" && nonEmpty(key) && (yield* env.arcRedeem(key))
    if (!valid) {
      return yield* arcChallenge(env)
    }
    const identity = yield* resolveIdentity("AzureArc", selector, env, identityNotFound)
    const token = yield* issue("AzureArc", identity, resource, env.lifetime)
    return reply(200, {
      access_token: token.accessToken,
      expires_in: env.lifetime,
      expires_on: String(token.expiresOn),
      not_before: String(token.issuedAt),
      resource,
      token_type: "Bearer",
      ...(selector._tag === "SystemAssigned" ? {} : {
        client_id: token.identity.clientId,
        object_id: token.identity.objectId,
        msi_res_id: token.identity.resourceId
      })
    })
  }).pipe(Effect.merge)

/**
 * What the real endpoint of `kind` answers to `request`, validating what it validates.
 *
 * @internal
 */
export const respond: Record<SourceKind, (request: Incoming, env: Environment) => Effect.Effect<Reply>> = {
  Imds: imds,
  AppService: appService,
  ServiceFabric: serviceFabric,
  AzureArc: azureArc,
  CloudShell: cloudShell,
  MachineLearning: machineLearning
}
