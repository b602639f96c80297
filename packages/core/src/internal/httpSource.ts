import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { identity } from "effect/Function"
import type * as Redacted from "effect/Redacted"
import * as ManagedIdentity from "../ManagedIdentity.js"
import { type ManagedIdentityError, TokenRequestFailed } from "../ManagedIdentityError.js"
import type { TokenRequest } from "../TokenRequest.js"
import * as TokenSource from "../TokenSource.js"
import * as AttemptLoop from "./attemptLoop.js"
import * as Transport from "./transport.js"
import * as Wire from "./wire.js"

/** What a source module states about itself: where it sends, its retry rules, what it can do, the caller's timing. */
export interface Definition extends Transport.Endpoint, AttemptLoop.RetryRules {
  readonly capabilities?: TokenSource.Capabilities | undefined
  readonly timing: TokenSource.TimingOptions
}

/** One `getToken` of a checked source: given the request, the attempt that the loop runs and retries. */
export type Exchange = (
  request: TokenRequest
) => (attempt: number) => Effect.Effect<TokenSource.IssuedToken, ManagedIdentityError>

/**
 * Builds the service from a configuration checked once, when the source is built: every `getToken` of a valid one
 * runs its exchange under the attempt loop; every `getToken` of an invalid one fails at once with the error found,
 * and nothing is sent.
 */
export const fromChecked = (
  definition: Definition,
  identity: ManagedIdentity.Identity,
  checked: Either.Either<Exchange, ManagedIdentityError>
): TokenSource.TokenSource.Service =>
  TokenSource.make({
    kind: definition.kind,
    identity,
    capabilities: definition.capabilities ?? TokenSource.noCapabilities,
    getToken: Either.match(checked, {
      onLeft: (error) => () => Effect.fail(error),
      onRight: (exchange) => (request) =>
        AttemptLoop.withRetries(definition, definition.timing, exchange(request)).pipe(
          Effect.mapError((error) => error._tag === "TokenRequestFailed" ? naming(error, identity) : error)
        )
    })
  })

/** The endpoint's error, naming the identity that was asked for (so an unknown one says which id it was). */
const naming = (error: TokenRequestFailed, identity: ManagedIdentity.Identity): TokenRequestFailed =>
  new TokenRequestFailed({
    source: error.source,
    status: error.status,
    error: error.error,
    description: error.description,
    correlationId: error.correlationId,
    traceId: error.traceId,
    retryAfter: error.retryAfter,
    identity: ManagedIdentity.describe(identity)
  })

/** What an attempt sends: the request, the client that sends it, and the secrets its body carries. */
export interface Prepared {
  readonly client: HttpClient.HttpClient
  readonly request: HttpClientRequest.HttpClientRequest
  readonly secretsInBody?: ReadonlyArray<Redacted.Redacted<string>> | undefined
}

/** Wraps each exchange before its answer is decoded (IMDS's probe); by default the exchange as it is. */
export type Guard = (
  exchange: Effect.Effect<Transport.Received, ManagedIdentityError>
) => Effect.Effect<Transport.Received, ManagedIdentityError>

/**
 * The exchange of sources that prepare each attempt anew (workload identity reads its assertion per attempt): one
 * HTTP request per attempt, its answer decoded into a token.
 */
export const preparedRequest = (
  endpoint: Transport.Endpoint,
  prepare: (request: TokenRequest) => Effect.Effect<Prepared, ManagedIdentityError>,
  guard: Guard = identity
): Exchange =>
(request) =>
(attempt) =>
  Effect.flatMap(
    prepare(request),
    (prepared) =>
      guard(Transport.exchange(prepared.client, endpoint, attempt, prepared.request, prepared.secretsInBody))
  ).pipe(
    Effect.flatMap((received) => Wire.decodeAnswer(endpoint.kind, received, request.resource)),
    Effect.map(({ token }) => token)
  )

/** The exchange of most sources: one HTTP request per attempt, its answer decoded into a token. */
export const singleRequest = (
  client: HttpClient.HttpClient,
  endpoint: Transport.Endpoint,
  build: (request: TokenRequest) => HttpClientRequest.HttpClientRequest,
  guard?: Guard
): Exchange => preparedRequest(endpoint, (request) => Effect.succeed({ client, request: build(request) }), guard)

/**
 * Builds a single-request source over the `HttpClient` and `ManagedIdentity` in context: `check` validates the
 * configuration for the identity once and returns how to build a request; `guard` wraps each exchange.
 */
export const make = (
  definition: Definition,
  check: (
    identity: ManagedIdentity.Identity
  ) => Either.Either<(request: TokenRequest) => HttpClientRequest.HttpClientRequest, ManagedIdentityError>,
  guard?: Guard
): Effect.Effect<TokenSource.TokenSource.Service, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  Effect.map(
    Effect.all([HttpClient.HttpClient, ManagedIdentity.ManagedIdentity]),
    ([client, identity]) =>
      fromChecked(
        definition,
        identity,
        Either.map(check(identity), (build) => singleRequest(client, definition, build, guard))
      )
  )
