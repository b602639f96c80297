/**
 * What the emulated endpoints validate, each in its order and its own words, before they issue a token.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { type Checked, type Environment, grant, type Incoming, systemAssigned } from "./endpoint.js"
import { acceptFederatedCredential } from "./federated.js"
import type * as EmulatorIdentity from "./identity.js"
import type { SourceKind } from "./model.js"
import { appServiceError, type Grant, issue, oauthError, type Reply, reply, serviceFabricError } from "./replies.js"
import { acceptWorkloadIdentity } from "./stsToken.js"

const apiVersions: Readonly<
  Record<Exclude<SourceKind, "CloudShell" | "WorkloadIdentity" | "FederatedCredential">, string>
> = {
  Imds: "2018-02-01",
  AppService: "2019-08-01",
  ServiceFabric: "2019-07-01-preview",
  AzureArc: "2020-06-01",
  MachineLearning: "2017-09-01"
}

const nonEmpty = (value: string | undefined): value is string => value !== undefined && value !== ""

const methodNotAllowed = (method: string) => `The HTTP method '${method}' is not allowed`

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
  WorkloadIdentity: acceptWorkloadIdentity,
  FederatedCredential: acceptFederatedCredential
}

/**
 * What the real endpoint of `kind` answers to `request`, validating what it validates.
 *
 * @internal
 */
export const respond = (kind: SourceKind, request: Incoming, env: Environment): Effect.Effect<Reply> =>
  accept[kind](request, env).pipe(
    Effect.flatMap((granted) => Effect.flatMap(env.nextTokenFault(kind), (fault) => issue(kind, granted, env, fault))),
    Effect.merge
  )
