/**
 * `ManagedIdentityDiagnosis.diagnose`: the detection, what the variables point at, one timed request to the detected
 * source through a client built like the app's, what the token it returned says, and the cache, as findings.
 */
import * as Claims from "@managed-identity/protocol/Claims"
import * as ClockCheck from "@managed-identity/protocol/ClockCheck"
import * as Diagnosis from "@managed-identity/protocol/Diagnosis"
import * as IdentityCheck from "@managed-identity/protocol/IdentityCheck"
import * as Proxy from "@managed-identity/protocol/Proxy"
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import type { AccessToken } from "../../AccessToken.js"
import * as LocalHttpClient from "../../LocalHttpClient.js"
import * as ManagedIdentity from "../../ManagedIdentity.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import * as TokenCache from "../../TokenCache.js"
import * as TokenSource from "../../TokenSource.js"
import * as Detect from "../detection/detect.js"
import * as Layers from "../source/layers.js"
import { checkCache } from "./cacheCheck.js"
import * as Federated from "./federated.js"
import type * as Model from "./model.js"
import { type MakeClient, outcomeOf, requestToken } from "./reachability.js"

/** What `ManagedIdentityDiagnosis.diagnose` is asked, its defaults applied. */
export interface Request {
  readonly resource: string
  readonly budget: Duration.Input
  readonly azureArcKeyDirectory?: string | undefined
  readonly identityBindings?: boolean | undefined
  /** A managed identity as a federated credential: hop 1 asks for the application's audience, hop 2 for `resource`. */
  readonly federatedCredential?: Federated.Application | undefined
}

/** What the token the client returned says: its report, identity check, clock check, and their findings. */
const examineToken = (
  kind: TokenSource.SourceKind,
  identity: ManagedIdentity.Identity,
  accessToken: AccessToken,
  host: IdentityCheck.HostIdentity,
  now: number
) => {
  const claims = Claims.read(Redacted.value(accessToken.token))
  const identityChecked = IdentityCheck.check(kind, identity, claims, host)
  const clockChecked = ClockCheck.check(claims, accessToken.source, now)
  const received = Diagnosis.finding(
    "ok",
    "token.received",
    `a ${accessToken.tokenType} token for ${accessToken.resource} from ${
      accessToken.source === "cache" ? "the cache" : "the identity provider"
    }, expiring ${DateTime.formatIso(accessToken.expiresOn)}`
  )
  const notJwt = claims !== undefined ? [] : [
    Diagnosis.finding(
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
      claims: claims ?? null
    } satisfies Model.TokenReport,
    identityCheck: identityChecked.check,
    clock: clockChecked === undefined ? null : {
      issuedAt: DateTime.makeUnsafe(clockChecked.check.issuedAt),
      checkedAt: DateTime.makeUnsafe(clockChecked.check.checkedAt),
      offsetSeconds: clockChecked.check.offsetSeconds
    },
    findings: [
      received,
      ...notJwt,
      ...(identityChecked.finding === undefined ? [] : [identityChecked.finding]),
      ...(clockChecked === undefined ? [] : [clockChecked.finding])
    ]
  }
}

/**
 * The diagnosis of this host, on `platform`, for `request`, asking for the token through a client `makeClient` builds;
 * see `ManagedIdentityDiagnosis.diagnose`.
 */
export const diagnose = (
  request: Request,
  platform: string,
  makeClient: MakeClient
): Effect.Effect<Model.Diagnosis, Config.ConfigError, Layers.Requirements | TokenCache.TokenCache> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const application = request.federatedCredential
    const resource = application === undefined ? request.resource : Federated.audienceOf(application)
    const budget = Duration.fromInputUnsafe(request.budget)
    const identity = yield* ManagedIdentity.ManagedIdentity
    const cache = yield* TokenCache.TokenCache
    const detection = yield* Detect.detect(platform)
    const lookup = yield* Detect.readVariables(Diagnosis.variableNames)
    const endpoint = Diagnosis.endpointOf(detection.kind, lookup, request.identityBindings === true)
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
      Layers.layerOf(detection.kind, {
        retrySchedule: RetryPolicy.none,
        attemptTimeout: bound,
        deadline: bound,
        probeTimeout: budget,
        azureArcKeyDirectory: request.azureArcKeyDirectory,
        identityBindings: request.identityBindings
      }, platform)
    ).pipe(Effect.map(Context.get(TokenSource.TokenSource)), Effect.result)
    const examined = yield* Result.match(built, {
      onFailure: (error) =>
        Effect.succeed({
          reachability: null,
          token: null,
          identityCheck: unchecked,
          clock: null,
          findings: [
            Diagnosis.finding("error", "source.misconfigured", `${TokenSource.titles[detection.kind]}: ${error}`)
          ]
        }),
      onSuccess: (source) =>
        Effect.gen(function*() {
          const { attempt, received } = yield* requestToken(makeClient, source, cache, resource)
          const reached = Diagnosis.reachability({
            kind: detection.kind,
            endpoint,
            budget: Duration.format(budget),
            millis: attempt.millis,
            problem: Result.isFailure(attempt.result) ? attempt.result.failure : undefined
          }, identity)
          const reachability: Model.Reachability = {
            source: detection.kind,
            endpoint,
            probe: detection.kind === "Imds",
            budgetMillis: Duration.toMillis(budget),
            millis: attempt.millis,
            outcome: outcomeOf(attempt)
          }
          const exchanged = application === undefined
            ? []
            : [yield* Federated.exchange(application, source, received, request.resource, budget)]
          if (Result.isFailure(received)) {
            return {
              reachability,
              token: null,
              identityCheck: reached.identityCheck ?? unchecked,
              clock: null,
              findings: [reached.finding, ...exchanged]
            }
          }
          const now = yield* Clock.currentTimeMillis
          const token = examineToken(detection.kind, identity, received.success, {
            defaultClientId: lookup("DEFAULT_IDENTITY_CLIENT_ID"),
            workloadClientId: lookup("AZURE_CLIENT_ID")
          }, now)
          return { ...token, reachability, findings: [reached.finding, ...token.findings, ...exchanged] }
        })
    })
    const cacheChecked = yield* checkCache(cache.description, platform)
    const proxied = Proxy.finding(
      endpoint,
      yield* LocalHttpClient.environment,
      Option.isSome(yield* Effect.serviceOption(LocalHttpClient.LocalHttpClient))
    )

    return {
      resource,
      identity,
      detection,
      sources: Diagnosis.sourcesOf(detection.kind, lookup),
      reachability: examined.reachability,
      token: examined.token,
      identityCheck: examined.identityCheck,
      clock: examined.clock,
      cache: cacheChecked.check,
      findings: [
        Diagnosis.finding("ok", "source.detected", detection.reasons[0]),
        ...(proxied === undefined ? [] : [proxied]),
        ...examined.findings,
        cacheChecked.finding
      ],
      elapsedMillis: (yield* Clock.currentTimeMillis) - started
    }
  }).pipe(Effect.scoped)
