/**
 * The timed request of `ManagedIdentitySource.diagnose`: one request to the detected source, where it went, how long
 * it took, and the reachability finding its outcome amounts to.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { AccessToken } from "../AccessToken.js"
import * as AzureArcTokenSource from "../AzureArcTokenSource.js"
import * as ImdsTokenSource from "../ImdsTokenSource.js"
import * as ManagedIdentity from "../ManagedIdentity.js"
import * as ManagedIdentityClient from "../ManagedIdentityClient.js"
import type { ManagedIdentityError } from "../ManagedIdentityError.js"
import * as TokenCache from "../TokenCache.js"
import * as TokenSource from "../TokenSource.js"
import * as WorkloadIdentityTokenSource from "../WorkloadIdentityTokenSource.js"
import * as Model from "./diagnosisModel.js"
import * as Transport from "./transport.js"

/** The URL the detected source sends to, as messages show it. */
export const endpointOf = (
  kind: TokenSource.SourceKind,
  value: (name: string) => Option.Option<string>,
  identityBindings: boolean
): string => {
  const url = (() => {
    switch (kind) {
      case "WorkloadIdentity": {
        const proxy = identityBindings ? value("AZURE_KUBERNETES_TOKEN_PROXY") : Option.none()
        if (Option.isSome(proxy)) return proxy
        return Option.flatMap(value("AZURE_TENANT_ID"), (tenant) =>
          Either.getRight(
            WorkloadIdentityTokenSource.tokenUrl(
              Option.getOrElse(value("AZURE_AUTHORITY_HOST"), () => WorkloadIdentityTokenSource.defaultAuthorityHost),
              tenant
            )
          )).pipe(Option.map(String))
      }
      case "Imds":
        return Option.some(
          ImdsTokenSource.tokenUrl(
            Option.getOrElse(value("AZURE_POD_IDENTITY_AUTHORITY_HOST"), () => ImdsTokenSource.defaultAuthorityHost)
          )
        )
      case "AppService":
      case "ServiceFabric":
        return value("IDENTITY_ENDPOINT")
      case "AzureArc":
        return Option.orElse(value("IDENTITY_ENDPOINT"), () => Option.some(AzureArcTokenSource.defaultEndpoint))
      case "CloudShell":
      case "MachineLearning":
        return value("MSI_ENDPOINT")
    }
  })()
  return Option.match(url, { onNone: () => "(not set, or not valid)", onSome: Transport.displayUrl })
}

/** One timed request: how long it took, and its token or error. */
export interface Attempt {
  readonly millis: number
  readonly result: Either.Either<TokenSource.IssuedToken, ManagedIdentityError>
}

const formatMillis = (millis: number): string => millis < 1000 ? `${millis} ms` : `${(millis / 1000).toFixed(1)} s`

/** The reachability finding of a request, and for an `IdentityNotConfirmed`, the identity check it amounts to. */
export const reachabilityFinding = (
  kind: TokenSource.SourceKind,
  endpoint: string,
  budget: Duration.Duration,
  attempt: Attempt,
  identity: ManagedIdentity.Identity
): { readonly finding: Model.Finding; readonly identityCheck: Option.Option<Model.IdentityCheck> } => {
  const title = TokenSource.titles[kind]
  const plain = (level: Model.Finding["level"], code: Model.FindingCode, message: string) => ({
    finding: Model.finding(level, code, message),
    identityCheck: Option.none()
  })
  if (Either.isRight(attempt.result)) {
    return plain("ok", "source.reachable", `${title} answered with a token in ${formatMillis(attempt.millis)}`)
  }
  const error = attempt.result.left
  switch (error._tag) {
    case "Timeout":
      return plain(
        "error",
        "source.unavailable",
        `${title} did not answer within ${Duration.format(budget)} at ${endpoint}`
      )
    case "SourceUnavailable":
      return plain("error", "source.unavailable", `${title} is not reachable at ${error.endpoint}: ${error.reason}`)
    case "InvalidIdentity":
      return plain("error", "source.misconfigured", error.message)
    case "IdentityNotConfirmed": {
      const requested = ManagedIdentity.describe(identity)
      const received = error.received ?? null
      const cause = "Azure Arc ignores an identity selector it does not know and answers for the machine's " +
        "identity; check that the identity is assigned to this machine"
      return {
        finding: Model.finding(
          "error",
          "identity.mismatch",
          `asked for ${requested} (${error.expected}), ${title} answered for ${
            received ?? "an identity it did not name"
          }: ${cause}`
        ),
        identityCheck: Option.some({ verdict: "mismatch", requested, received, cause })
      }
    }
    default:
      return plain(
        "error",
        "source.failed",
        `${title} gave no token (${formatMillis(attempt.millis)}): ${error._tag}: ${error.message}`
      )
  }
}

export const outcomeOf = (attempt: Attempt): Model.Outcome =>
  Either.match(attempt.result, {
    onRight: (): Model.Outcome => ({ _tag: "Token" }),
    onLeft: (error): Model.Outcome => ({
      _tag: "Error",
      error: error._tag,
      status: "status" in error ? error.status : null,
      message: error.message
    })
  })

/**
 * The token for `resource` from a client over `source` and `cache`, and one timed request to `source`: the client's
 * own when it made one, else (a cached token) one more.
 */
export const requestToken = (
  source: TokenSource.TokenSource.Service,
  cache: TokenCache.TokenCache.Service,
  resource: string
): Effect.Effect<
  { readonly attempt: Attempt; readonly received: Either.Either<AccessToken, ManagedIdentityError> },
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const last = yield* Ref.make(Option.none<Attempt>())
    const timed = TokenSource.make({
      ...source,
      getToken: (request) =>
        Effect.timed(Effect.either(source.getToken(request))).pipe(
          Effect.tap(([duration, result]) =>
            Ref.set(last, Option.some({ millis: Math.round(Duration.toMillis(duration)), result }))
          ),
          Effect.flatMap(([, result]) => result)
        )
    })
    const client = yield* ManagedIdentityClient.make().pipe(
      Effect.provideService(TokenSource.TokenSource, timed),
      Effect.provideService(TokenCache.TokenCache, cache)
    )
    const received = yield* Effect.either(client.getToken(resource))
    if (Option.isNone(yield* Ref.get(last))) yield* Effect.either(timed.getToken({ resource }))
    const attempt = Option.getOrElse(yield* Ref.get(last), (): Attempt => ({ millis: 0, result: received }))
    return { attempt, received }
  })
