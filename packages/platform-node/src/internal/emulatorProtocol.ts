/**
 * What the emulated endpoints validate, each in its order and its own words, before they issue a token.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { randomBytes, randomUUID } from "node:crypto"
import * as EmulatorIdentity from "./emulatorIdentity.js"
import type { Identity, Secrets, SourceKind, TokenFault } from "./emulatorModel.js"
import {
  aadsts,
  appServiceError,
  entraError,
  type Grant,
  issue,
  oauthError,
  type Reply,
  reply,
  serviceFabricError
} from "./emulatorReplies.js"
import type { AssertionStatus } from "./emulatorWorkload.js"

/** @internal */
export interface Incoming {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** @internal */
export interface Environment {
  readonly secrets: Secrets
  readonly lifetime: number
  readonly knownIdentities: Option.Option<ReadonlyArray<Identity>>
  /** Writes a fresh Arc key file and answers the realm naming it. */
  readonly arcChallenge: Effect.Effect<string, unknown>
  /** Whether the key is one issued and not used yet; a valid key is used up. */
  readonly arcRedeem: (key: string) => Effect.Effect<boolean>
  /** What the STS makes of a workload identity's `client_assertion`. */
  readonly federatedAssertion: (assertion: string) => Effect.Effect<AssertionStatus>
  /** Takes the token fault that the next token of `kind` gets, if one is queued. */
  readonly nextTokenFault: (kind: SourceKind) => Effect.Effect<Option.Option<TokenFault>>
}

/**
 * Fresh secrets for one emulator: App Service's identity header, Azure ML's and Service Fabric's secrets.
 *
 * @internal
 */
export const makeSecrets: Effect.Effect<Secrets> = Effect.sync(() => ({
  identityHeader: randomUUID(),
  msiSecret: randomBytes(16).toString("hex"),
  serviceFabricSecret: randomBytes(16).toString("hex")
}))

const apiVersions: Readonly<Record<Exclude<SourceKind, "CloudShell" | "WorkloadIdentity">, string>> = {
  Imds: "2018-02-01",
  AppService: "2019-08-01",
  ServiceFabric: "2019-07-01-preview",
  AzureArc: "2020-06-01",
  MachineLearning: "2017-09-01"
}

const nonEmpty = (value: string | undefined): value is string => value !== undefined && value !== ""

const methodNotAllowed = (method: string) => `The HTTP method '${method}' is not allowed`

/** A check that fails with the reply the endpoint sends instead of a token. */
type Checked<A> = Either.Either<A, Reply>

/** How an endpoint refuses a wrong method, api-version or a missing resource, in its own shape and words. */
interface Refusals {
  readonly method: (method: string) => Reply
  readonly apiVersion: (problem: string) => Reply
  readonly noResource: () => Reply
}

const oauthRefusals: Refusals = {
  method: (method) => oauthError(405, "invalid_request", methodNotAllowed(method)),
  apiVersion: (problem) => oauthError(400, "invalid_request", problem),
  noResource: () => oauthError(400, "invalid_request", "Required audience parameter not specified")
}

const appServiceRefusals: Refusals = {
  method: (method) => appServiceError(405, methodNotAllowed(method)),
  apiVersion: (problem) => appServiceError(400, problem),
  noResource: () => appServiceError(400, "The 'resource' query parameter is missing")
}

const serviceFabricRefusals: Refusals = {
  method: (method) => serviceFabricError(405, "MethodNotAllowed", methodNotAllowed(method)),
  apiVersion: (problem) => serviceFabricError(400, "InvalidApiVersion", problem),
  noResource: () =>
    serviceFabricError(400, "ArgumentNullOrEmpty", "Value cannot be null or empty. Parameter name: resource")
}

/** The header an endpoint checks right after the method: `None` when the request passes. */
type HeaderCheck = (headers: Incoming["headers"]) => Option.Option<Reply>

/** `Metadata: true`, which IMDS, Azure Arc and Cloud Shell require. */
const metadataHeader: HeaderCheck = (headers) =>
  headers["metadata"]?.toLowerCase() === "true"
    ? Option.none()
    : Option.some(oauthError(400, "invalid_request", "Required metadata header not specified"))

/** A secret header that must hold `expected`; `missing` and `invalid` are the endpoint's answers otherwise. */
const secretHeader = (
  name: string,
  expected: string,
  missing: () => Reply,
  invalid: () => Reply
): HeaderCheck =>
(headers) => {
  const secret = headers[name]
  return !nonEmpty(secret) ? Option.some(missing()) : secret === expected ? Option.none() : Option.some(invalid())
}

const appServiceHeader = (name: string, label: string, expected: string): HeaderCheck =>
  secretHeader(
    name,
    expected,
    () => appServiceError(401, `The ${label} header is missing`),
    () => appServiceError(401, `The ${label} header is invalid`)
  )

/** What every endpoint checks first: the method, then its header. */
const checkHeaders = (request: Incoming, method: string, refusals: Refusals, header: HeaderCheck): Checked<void> =>
  request.method !== method
    ? Either.left(refusals.method(request.method))
    : Option.match(header(request.headers), { onNone: () => Either.void, onSome: Either.left })

/** What every endpoint but Cloud Shell checks next: the api-version of `kind`, then the resource. */
const checkQuery = (kind: keyof typeof apiVersions, query: Incoming["query"], refusals: Refusals): Checked<string> => {
  const version = query["api-version"]
  if (!nonEmpty(version)) {
    return Either.left(refusals.apiVersion("Required query variable 'api-version' is missing"))
  }
  if (version !== apiVersions[kind]) {
    return Either.left(refusals.apiVersion(`The api-version '${version}' is not supported; use '${apiVersions[kind]}'`))
  }
  const resource = query["resource"]
  return nonEmpty(resource) ? Either.right(resource) : Either.left(refusals.noResource())
}

/** A GET checked as the endpoint of `kind` checks it; the resource it asks for. */
const checkGet = (
  kind: keyof typeof apiVersions,
  request: Incoming,
  refusals: Refusals,
  header: HeaderCheck
): Checked<string> =>
  Either.andThen(checkHeaders(request, "GET", refusals, header), checkQuery(kind, request.query, refusals))

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

const imdsSelector = (query: Incoming["query"]): Checked<EmulatorIdentity.Selector> =>
  Either.fromOption(
    selectorOf(imdsSelectorNames, query),
    () =>
      oauthError(400, "invalid_request", "Multiple identities specified; use one of client_id, msi_res_id, object_id")
  )

const grant = (
  kind: SourceKind,
  resource: string,
  selector: EmulatorIdentity.Selector,
  env: Environment,
  notFound: () => Reply
): Checked<Grant> =>
  Either.map(
    Either.fromOption(EmulatorIdentity.resolve(kind, selector, env.knownIdentities), notFound),
    (identity) => ({ resource, identity, userAssigned: selector._tag !== "SystemAssigned" })
  )

const systemAssigned: EmulatorIdentity.Selector = { _tag: "SystemAssigned" }

const identityNotFound = () => oauthError(400, "invalid_request", "Identity not found")

const unknownAppServiceIdentity = () => appServiceError(400, "Unable to load the proper Managed Identity.")

const arcChallenge = (env: Environment): Effect.Effect<Reply> =>
  env.arcChallenge.pipe(
    Effect.map((realm) =>
      reply(401, {
        error: "unauthorized_client",
        error_description: "Authorization is required: read the key file named in the WWW-Authenticate realm"
      }, { "WWW-Authenticate": `Basic realm=${realm}` })
    ),
    Effect.catchAll(() => Effect.succeed(oauthError(500, "server_error", "Could not write the key file")))
  )

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/** Scopes a client may add to a client-credentials request besides the resource's `/.default`. */
const oidcScopes = new Set(["openid", "profile", "offline_access", "email"])

/**
 * Entra's token endpoint for workload identity: `POST /{tenant}/oauth2/v2.0/token` (also below the token proxy's
 * path) with the form of a client-credentials grant whose credential is the federated token: every field is checked,
 * and the assertion must be the token file's current content (a rotated-out token is expired, `AADSTS700024`).
 */
const acceptWorkloadIdentity = (request: Incoming, env: Environment): Effect.Effect<Grant, Reply> =>
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

/** What each endpoint validates, in its order, before it issues a token (or the reply it sends instead). */
const accept: { readonly [K in SourceKind]: (request: Incoming, env: Environment) => Effect.Effect<Grant, Reply> } = {
  Imds: (request, env) =>
    Either.gen(function*() {
      const resource = yield* checkGet("Imds", request, oauthRefusals, metadataHeader)
      return yield* grant("Imds", resource, yield* imdsSelector(request.query), env, identityNotFound)
    }),
  AppService: (request, env) =>
    Either.gen(function*() {
      const header = appServiceHeader("x-identity-header", "X-IDENTITY-HEADER", env.secrets.identityHeader)
      const resource = yield* checkGet("AppService", request, appServiceRefusals, header)
      const selector = yield* Either.fromOption(
        selectorOf({ ClientId: "client_id", ResourceId: "mi_res_id", ObjectId: "object_id" }, request.query),
        () => appServiceError(400, "Only one of client_id, mi_res_id, object_id may be specified")
      )
      return yield* grant("AppService", resource, selector, env, unknownAppServiceIdentity)
    }),
  MachineLearning: (request, env) =>
    Either.gen(function*() {
      const header = appServiceHeader("secret", "secret", env.secrets.msiSecret)
      const resource = yield* checkGet("MachineLearning", request, appServiceRefusals, header)
      const clientId = request.query["clientid"]
      const selector: EmulatorIdentity.Selector = nonEmpty(clientId)
        ? { _tag: "ClientId", value: clientId }
        : systemAssigned
      return yield* grant("MachineLearning", resource, selector, env, unknownAppServiceIdentity)
    }),
  CloudShell: (request, env) =>
    Either.gen(function*() {
      yield* checkHeaders(request, "POST", oauthRefusals, metadataHeader)
      const form = Object.fromEntries(new URLSearchParams(request.body))
      const resource = form["resource"]
      if (!nonEmpty(resource)) {
        return yield* Either.left(oauthRefusals.noResource())
      }
      const selector = selectorOf(imdsSelectorNames, { ...request.query, ...form })
      if (Option.isNone(selector) || selector.value._tag !== "SystemAssigned") {
        return yield* Either.left(
          oauthError(400, "invalid_request", "User-assigned managed identities are not supported in Cloud Shell")
        )
      }
      return yield* grant("CloudShell", resource, systemAssigned, env, identityNotFound)
    }),
  ServiceFabric: (request, env) =>
    Either.gen(function*() {
      const header = secretHeader(
        "secret",
        env.secrets.serviceFabricSecret,
        () => serviceFabricError(401, "SecretHeaderNotFound", "Secret is not found in the request headers."),
        () => serviceFabricError(401, "InvalidSecret", "The secret in the request headers is not valid.")
      )
      const resource = yield* checkGet("ServiceFabric", request, serviceFabricRefusals, header)
      return yield* grant("ServiceFabric", resource, systemAssigned, env, identityNotFound)
    }),
  AzureArc: (request, env) =>
    Effect.gen(function*() {
      const resource = yield* checkGet("AzureArc", request, oauthRefusals, metadataHeader)
      const selector = yield* imdsSelector(request.query)
      const [scheme, key] = (request.headers["authorization"] ?? "").split(" ", 2)
      if (scheme.toLowerCase() !== "basic" || !nonEmpty(key) || !(yield* env.arcRedeem(key))) {
        return yield* Effect.flip(arcChallenge(env))
      }
      return yield* grant("AzureArc", resource, selector, env, identityNotFound)
    }),
  WorkloadIdentity: acceptWorkloadIdentity
}

/**
 * What the real endpoint of `kind` answers to `request`, validating what it validates.
 *
 * @internal
 */
export const respond = (kind: SourceKind, request: Incoming, env: Environment): Effect.Effect<Reply> =>
  accept[kind](request, env).pipe(
    Effect.flatMap((granted) =>
      Effect.flatMap(env.nextTokenFault(kind), (fault) => issue(kind, granted, env.lifetime, fault))
    ),
    Effect.merge
  )
