/**
 * `ManagedIdentitySource.diagnose`: the detection, what the variables point at, one timed request to the detected
 * source through a client built like the app's, what the token it returned says, and the cache, as findings.
 */
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { AccessToken } from "../AccessToken.js"
import * as ManagedIdentity from "../ManagedIdentity.js"
import * as RetryPolicy from "../RetryPolicy.js"
import * as TokenCache from "../TokenCache.js"
import * as TokenSource from "../TokenSource.js"
import { checkCache } from "./cacheCheck.js"
import { checkClock } from "./clockCheck.js"
import * as Detection from "./detection.js"
import * as Model from "./diagnosisModel.js"
import { sourcesOf, variableNames } from "./diagnosisTargets.js"
import * as Environment from "./environment.js"
import { checkIdentity, type HostIdentity, readClaims } from "./identityCheck.js"
import { endpointOf, outcomeOf, reachabilityFinding, requestToken } from "./reachability.js"
import * as SourceLayer from "./sourceLayer.js"

/** What `ManagedIdentitySource.diagnose` is asked, its defaults applied. */
export interface Request {
  readonly resource: string
  readonly budget: Duration.DurationInput
  readonly azureArcKeyDirectory?: string | undefined
  readonly identityBindings?: boolean | undefined
}

/** What the token the client returned says: its report, identity check, clock check, and their findings. */
const examineToken = (
  kind: TokenSource.SourceKind,
  identity: ManagedIdentity.Identity,
  accessToken: AccessToken,
  host: HostIdentity,
  now: number
) => {
  const claims = readClaims(Redacted.value(accessToken.token))
  const identityChecked = checkIdentity(kind, identity, claims, host)
  const clockChecked = checkClock(claims, accessToken.source, now)
  const received = Model.finding(
    "ok",
    "token.received",
    `a ${accessToken.tokenType} token for ${accessToken.resource} from ${
      accessToken.source === "cache" ? "the cache" : "the identity provider"
    }, expiring ${DateTime.formatIso(accessToken.expiresOn)}`
  )
  const notJwt = Option.isSome(claims) ? [] : [
    Model.finding(
      "warning",
      "token.not-jwt",
      "the token is not JWT-shaped, so the identity and issue time it names cannot be read (it may still work)"
    )
  ]
  return {
    token: {
      origin: accessToken.source,
      tokenType: accessToken.tokenType,
      resource: accessToken.resource,
      expiresOn: accessToken.expiresOn,
      claims: Option.getOrNull(claims)
    } satisfies Model.TokenReport,
    identityCheck: identityChecked.check,
    clock: Option.getOrNull(clockChecked.check),
    findings: [received, ...notJwt, ...Option.toArray(identityChecked.finding), ...Option.toArray(clockChecked.finding)]
  }
}

/** The diagnosis of this host, on `platform`, for `request`; see `ManagedIdentitySource.diagnose`. */
export const diagnose = (
  request: Request,
  platform: string
): Effect.Effect<Model.Diagnosis, ConfigError.ConfigError, SourceLayer.Requirements | TokenCache.TokenCache> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const resource = request.resource
    const budget = Duration.decode(request.budget)
    const identity = yield* ManagedIdentity.ManagedIdentity
    const cache = yield* TokenCache.TokenCache
    const detection = yield* Detection.detect(platform)
    const values = new Map(
      yield* Effect.forEach(
        variableNames,
        (name) => Effect.map(Environment.optional(name), (found) => [name, found] as const)
      )
    )
    const value = (name: string) => values.get(name) ?? Option.none()
    const endpoint = endpointOf(detection.kind, value, request.identityBindings === true)
    const unchecked: Model.IdentityCheck = {
      verdict: "unchecked",
      requested: ManagedIdentity.describe(identity),
      received: null,
      cause: null
    }

    // One attempt within the budget; for IMDS the budget is its probe's, which bounds the whole first exchange (the
    // attempt's own bounds are kept out of its way).
    const bound = detection.kind === "Imds" ? Duration.times(budget, 2) : budget
    const built = yield* Layer.build(
      SourceLayer.sourceLayer(detection.kind, {
        retrySchedule: RetryPolicy.none,
        attemptTimeout: bound,
        deadline: bound,
        probeTimeout: budget,
        azureArcKeyDirectory: request.azureArcKeyDirectory,
        identityBindings: request.identityBindings
      }, platform)
    ).pipe(Effect.map(Context.get(TokenSource.TokenSource)), Effect.either)
    const examined = yield* Either.match(built, {
      onLeft: (error) =>
        Effect.succeed({
          reachability: null,
          token: null,
          identityCheck: unchecked,
          clock: null,
          findings: [
            Model.finding("error", "source.misconfigured", `${TokenSource.titles[detection.kind]}: ${error}`)
          ]
        }),
      onRight: (source) =>
        Effect.gen(function*() {
          const { attempt, received } = yield* requestToken(source, cache, resource)
          const reached = reachabilityFinding(detection.kind, endpoint, budget, attempt, identity)
          const reachability: Model.Reachability = {
            source: detection.kind,
            endpoint,
            probe: detection.kind === "Imds",
            budgetMillis: Duration.toMillis(budget),
            millis: attempt.millis,
            outcome: outcomeOf(attempt)
          }
          if (Either.isLeft(received)) {
            return {
              reachability,
              token: null,
              identityCheck: Option.getOrElse(reached.identityCheck, () => unchecked),
              clock: null,
              findings: [reached.finding]
            }
          }
          const now = yield* Clock.currentTimeMillis
          const token = examineToken(detection.kind, identity, received.right, {
            defaultClientId: value("DEFAULT_IDENTITY_CLIENT_ID"),
            workloadClientId: value("AZURE_CLIENT_ID")
          }, now)
          return { ...token, reachability, findings: [reached.finding, ...token.findings] }
        })
    })
    const cacheChecked = yield* checkCache(Option.fromNullable(cache.description), platform)

    return {
      resource,
      identity,
      detection,
      sources: sourcesOf(detection.kind, values),
      reachability: examined.reachability,
      token: examined.token,
      identityCheck: examined.identityCheck,
      clock: examined.clock,
      cache: cacheChecked.check,
      findings: [
        Model.finding("ok", "source.detected", detection.reasons[0]),
        ...examined.findings,
        cacheChecked.finding
      ],
      elapsedMillis: (yield* Clock.currentTimeMillis) - started
    }
  }).pipe(Effect.scoped)
