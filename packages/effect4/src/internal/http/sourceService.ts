/**
 * The one pipeline every HTTP source runs: a configuration checked once when the source is built, then per attempt
 * the protocol's request sent (`exchange`), its answer read by the protocol into a token or a problem, and the problem
 * turned into the typed error — under the attempt loop.
 */
import * as Answer from "@managed-identity/protocol/Answer"
import * as Identity from "@managed-identity/protocol/Identity"
import type * as Problem from "@managed-identity/protocol/Problem"
import type * as Request from "@managed-identity/protocol/Request"
import type * as Plain from "@managed-identity/protocol/Result"
import type * as Source from "@managed-identity/protocol/Source"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import type * as ManagedIdentity from "../../ManagedIdentity.js"
import { type ManagedIdentityError, TokenRequestFailed } from "../../ManagedIdentityError.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import type { TokenRequest } from "../../TokenRequest.js"
import type * as TokenSource from "../../TokenSource.js"
import * as Results from "../result.js"
import * as Attempts from "./attempts.js"
import * as Exchange from "./exchange.js"

/** What a source module states about itself: where it sends, its retry rules, what it can do, the caller's timing. */
export interface Definition extends Exchange.Endpoint, Attempts.RetryRules {
  readonly capabilities: Source.Capabilities
  readonly timing: TokenSource.TimingOptions
}

/** The retry rules of a source's retry class: the policy it uses, and what it retries at all. */
export const retryRules = (facts: Source.Facts): Attempts.RetryRules =>
  facts.retry === "Imds"
    ? { retryPolicy: RetryPolicy.imds, isRetryable: RetryPolicy.isRetryableImds }
    : { retryPolicy: RetryPolicy.defaultPolicy, isRetryable: RetryPolicy.isRetryableDefault }

/** The definition of a source with `facts` sending to `url`, with the caller's timing. */
export const definition = (facts: Source.Facts, url: string, timing: TokenSource.TimingOptions): Definition => ({
  ...Exchange.endpoint(facts.kind, url),
  ...retryRules(facts),
  capabilities: facts.capabilities,
  timing
})

/** One `getToken` of a checked source: given the request, the attempt that the loop runs and retries. */
export type Attempt = (
  request: TokenRequest
) => (attempt: number) => Effect.Effect<TokenSource.IssuedToken, ManagedIdentityError>

/** Wraps each exchange before its answer is read (IMDS's probe). */
export type Guard = (
  exchange: Effect.Effect<Exchange.Received, ManagedIdentityError>
) => Effect.Effect<Exchange.Received, ManagedIdentityError>

/**
 * The service of a source whose configuration was checked once, when it was built: every `getToken` of a valid one
 * runs its attempt under the attempt loop; every `getToken` of an invalid one fails at once with the error found, and
 * nothing is sent. An endpoint's error names the identity asked for (so an unknown one says which id it was).
 */
export const fromChecked = <E extends ManagedIdentityError>(
  definition: Definition,
  identity: ManagedIdentity.Identity,
  checked: Result.Result<Attempt, E>
): TokenSource.TokenSource.Service => ({
  kind: definition.kind,
  identity,
  capabilities: definition.capabilities,
  getToken: Result.match(checked, {
    onFailure: (error) => () => Effect.fail(error),
    onSuccess: (attempt) => (request) =>
      Attempts.withRetries(definition, definition.timing, attempt(request)).pipe(
        Effect.mapError((error) => error._tag === "TokenRequestFailed" ? naming(error, identity) : error)
      )
  })
})

/** {@link fromChecked} over the protocol's check of the configuration, and the attempt of a valid one. */
export const make = <C>(
  definition: Definition,
  identity: ManagedIdentity.Identity,
  checked: Plain.Result<C, Problem.Problem>,
  attemptOf: (checked: C) => Attempt
): TokenSource.TokenSource.Service =>
  fromChecked(definition, identity, Result.map(Results.toResult(checked), attemptOf))

/** The endpoint's error, naming the identity that was asked for. */
const naming = (error: TokenRequestFailed, identity: ManagedIdentity.Identity): TokenRequestFailed =>
  new TokenRequestFailed({
    source: error.source,
    status: error.status,
    error: error.error,
    description: error.description,
    correlationId: error.correlationId,
    traceId: error.traceId,
    retryAfter: error.retryAfter,
    identity: Identity.describe(identity)
  })

/** The answer's token for `resource` as the source hands it on, or the typed error of its problem. */
export const tokenOf = (
  kind: Exchange.Endpoint["kind"],
  received: Exchange.Received,
  resource: string
): Effect.Effect<Answer.Token, ManagedIdentityError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => Results.toEffect(Answer.token(kind, received, resource, now)))

/** A token the protocol read, as an `IssuedToken`. */
export const issued = (token: Answer.Token): TokenSource.IssuedToken => ({
  token: Redacted.make(token.token),
  tokenType: token.tokenType,
  resource: token.resource,
  expiresOn: DateTime.makeUnsafe(token.expiresOn),
  refreshOn: token.refreshOn === undefined ? Option.none() : Option.some(DateTime.makeUnsafe(token.refreshOn))
})

/**
 * The attempt of sources that prepare each attempt anew (workload identity reads its assertion per attempt): one
 * request per attempt, over the client it comes with, its answer read into a token.
 */
export const prepared = (
  endpoint: Exchange.Endpoint,
  prepare: (request: TokenRequest) => Effect.Effect<
    { readonly client: HttpClient.HttpClient; readonly request: Request.Request },
    ManagedIdentityError
  >,
  guard: Guard = (exchange) => exchange
): Attempt =>
(request) =>
(attempt) =>
  Effect.flatMap(
    prepare(request),
    (ready) => guard(Exchange.exchange(ready.client, endpoint, attempt, ready.request))
  ).pipe(
    Effect.flatMap((received) => tokenOf(endpoint.kind, received, request.resource)),
    Effect.map(issued)
  )

/** The attempt of most sources: one request per attempt, built by `build`, its answer read into a token. */
export const single = (
  client: HttpClient.HttpClient,
  endpoint: Exchange.Endpoint,
  build: (request: TokenRequest) => Request.Request,
  guard?: Guard
): Attempt => prepared(endpoint, (request) => Effect.succeed({ client, request: build(request) }), guard)
