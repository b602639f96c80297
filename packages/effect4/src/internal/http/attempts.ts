/**
 * The attempt loop every source runs its exchanges under: a span and a timeout per attempt, the source's retry policy
 * (or the caller's schedule within what the source retries), a deadline over all of it.
 */
import { secretHeaderNames } from "@managed-identity/protocol/Request"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Headers from "effect/http/Headers"
import * as HttpClient from "effect/http/HttpClient"
import { type ManagedIdentityError, Timeout } from "../../ManagedIdentityError.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import type { TimingOptions } from "../../TokenSource.js"
import * as Metrics from "../metrics.js"
import type { Endpoint } from "./exchange.js"

/** A source's retry facts, as its module exports them. */
export interface RetryRules {
  /** The policy used unless the caller passes a `retrySchedule`. */
  readonly retryPolicy: RetryPolicy.RetryPolicy
  /** What the source retries at all; a caller's `retrySchedule` is limited to it. */
  readonly isRetryable: (error: ManagedIdentityError) => boolean
}

/**
 * The platform's own `http.client` span is replaced by the attempt span: its success value holds the request with
 * its secret headers, which a tracer that serialises values would export.
 */
const disableClientSpans = () => true

/**
 * Runs `attempt` under the endpoint's retry rules and the caller's timing: each attempt in its own span with a
 * timeout, retried by the policy, the whole bounded by the deadline. The attempt number (from 1) is passed in so
 * errors can tell the first attempt from later ones.
 *
 * The span `ManagedIdentity.attempt` carries the source, the attempt number, the delay waited before it, the HTTP
 * status and the outcome (`token` or the error tag). Attempts after the first count as retries and are logged at
 * debug level, as is every failed attempt (tag and message: never a secret).
 */
export const withRetries = <A>(
  endpoint: Endpoint & RetryRules,
  timing: TimingOptions,
  attempt: (attemptNumber: number) => Effect.Effect<A, ManagedIdentityError>
): Effect.Effect<A, ManagedIdentityError> =>
  Effect.suspend(() => {
    let attempts = 0
    let lastEnded = 0
    const retries = Metrics.retries(endpoint.kind)
    const attemptEnded = Effect.clockWith((clock) =>
      Effect.sync(() => {
        lastEnded = clock.currentTimeMillisUnsafe()
      })
    )
    const attemptTimeout = Duration.fromInputUnsafe(timing.attemptTimeout ?? RetryPolicy.defaultAttemptTimeout)
    const deadline = Duration.fromInputUnsafe(timing.deadline ?? RetryPolicy.defaultDeadline)
    const one = Effect.clockWith((clock) => {
      const n = ++attempts
      const delayMillis = n === 1 ? 0 : clock.currentTimeMillisUnsafe() - lastEnded
      const retried = n === 1 ? Effect.void : Effect.andThen(
        Metrics.increment(retries),
        Effect.logDebug("managed identity token request retried").pipe(
          Effect.annotateLogs({ source: endpoint.kind, attempt: n, delayMillis })
        )
      )
      return Effect.andThen(retried, attempt(n)).pipe(
        Effect.timeoutOrElse({
          duration: attemptTimeout,
          orElse: () =>
            Effect.fail(
              new Timeout({
                source: endpoint.kind,
                attempts: n,
                reason: `attempt ${n} got no answer within ${Duration.format(attemptTimeout)}`
              })
            )
        }),
        Effect.tapError((error) =>
          Effect.andThen(
            Effect.annotateCurrentSpan("managed_identity.outcome", error._tag),
            Effect.logDebug("managed identity token attempt failed").pipe(
              Effect.annotateLogs({ source: endpoint.kind, attempt: n, error: error._tag, message: error.message })
            )
          )
        ),
        Effect.tap(() => Effect.annotateCurrentSpan("managed_identity.outcome", "token")),
        Effect.ensuring(attemptEnded),
        Effect.withSpan("ManagedIdentity.attempt", {
          attributes: {
            "managed_identity.source": endpoint.kind,
            "managed_identity.attempt": n,
            "managed_identity.delay_ms": delayMillis
          }
        })
      )
    })
    return one.pipe(
      Effect.retry(
        timing.retrySchedule === undefined
          ? endpoint.retryPolicy
          : RetryPolicy.fromSchedule(timing.retrySchedule, endpoint.isRetryable)
      ),
      Effect.timeoutOrElse({
        duration: deadline,
        orElse: () =>
          Effect.fail(
            new Timeout({
              source: endpoint.kind,
              attempts,
              reason: `no token within the ${Duration.format(deadline)} deadline`
            })
          )
      }),
      Effect.updateService(Headers.CurrentRedactedNames, (names) => [...names, ...secretHeaderNames]),
      Effect.provideService(HttpClient.TracerPropagationEnabled, false),
      Effect.provideService(HttpClient.TracerDisabledWhen, disableClientSpans)
    )
  })
