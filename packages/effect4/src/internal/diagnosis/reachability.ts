/**
 * The timed request of `ManagedIdentityDiagnosis.diagnose`: the token for a resource from a client built like the
 * app's, and one request to the detected source, timed.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import type { AccessToken } from "../../AccessToken.js"
import type { ManagedIdentityError } from "../../ManagedIdentityError.js"
import * as TokenCache from "../../TokenCache.js"
import * as TokenSource from "../../TokenSource.js"
import type * as Model from "./model.js"

/** One timed request: how long it took, and its token or error. */
export interface Attempt {
  readonly millis: number
  readonly result: Result.Result<TokenSource.IssuedToken, ManagedIdentityError>
}

/** The outcome of the timed request as the report shows it. */
export const outcomeOf = (attempt: Attempt): Model.Outcome =>
  Result.match(attempt.result, {
    onSuccess: (): Model.Outcome => ({ _tag: "Token" }),
    onFailure: (error): Model.Outcome => ({
      _tag: "Error",
      error: error._tag,
      status: "status" in error ? error.status : null,
      message: error.message
    })
  })

/** How a client is built over the `TokenSource` and `TokenCache` in context (`ManagedIdentityClient.make`). */
export type MakeClient = Effect.Effect<
  { readonly getToken: (resource: string) => Effect.Effect<AccessToken, ManagedIdentityError> },
  never,
  TokenSource.TokenSource | TokenCache.TokenCache | Scope.Scope
>

/**
 * The token for `resource` from a client over `source` and `cache`, and one timed request to `source`: the client's
 * own when it made one, else (a cached token) one more.
 */
export const requestToken = (
  makeClient: MakeClient,
  source: TokenSource.TokenSource.Service,
  cache: TokenCache.TokenCache.Service,
  resource: string
): Effect.Effect<
  { readonly attempt: Attempt; readonly received: Result.Result<AccessToken, ManagedIdentityError> },
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const last = yield* Ref.make(Option.none<Attempt>())
    const timed: TokenSource.TokenSource.Service = {
      ...source,
      getToken: (request) =>
        Effect.timed(Effect.result(source.getToken(request))).pipe(
          Effect.tap(([duration, result]) =>
            Ref.set(last, Option.some({ millis: Math.round(Duration.toMillis(duration)), result }))
          ),
          Effect.flatMap(([, result]) => Result.match(result, { onFailure: Effect.fail, onSuccess: Effect.succeed }))
        )
    }
    const client = yield* makeClient.pipe(
      Effect.provideService(TokenSource.TokenSource, timed),
      Effect.provideService(TokenCache.TokenCache, cache)
    )
    const received = yield* Effect.result(client.getToken(resource))
    if (Option.isNone(yield* Ref.get(last))) yield* Effect.result(timed.getToken({ resource }))
    const attempt = Option.getOrElse(yield* Ref.get(last), (): Attempt => ({ millis: 0, result: received }))
    return { attempt, received }
  })
