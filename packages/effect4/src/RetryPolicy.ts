/**
 * Retry as data: the `Schedule`s each source uses, the predicates that say which failures are worth another
 * attempt, and `Retry-After` handling. Every number is a default; pass your own `Schedule` to a source layer.
 *
 * @since 0.1.0
 */
import * as Retry from "@managed-identity/protocol/Retry"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { ManagedIdentityError } from "./ManagedIdentityError.js"

/**
 * A retry policy: a `Schedule` fed with the failure of each attempt.
 *
 * @since 0.1.0
 * @category models
 */
export type RetryPolicy = Schedule.Schedule<unknown, ManagedIdentityError>

/**
 * The longest `Retry-After` honoured as a retry delay.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxRetryAfter: Duration.Duration = Duration.seconds(Retry.maxRetryAfterSeconds)

/**
 * Default time allowed for one attempt.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAttemptTimeout: Duration.Duration = Duration.millis(Retry.defaultAttemptTimeoutMillis)

/**
 * Default time allowed for one `getToken`, all attempts and delays included.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultDeadline: Duration.Duration = Duration.millis(Retry.defaultDeadlineMillis)

/**
 * IMDS retries transport failures, attempt timeouts, 404, 408, 410, 429 and every 5xx.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryableImds: (error: ManagedIdentityError) => boolean = Retry.isRetryableImds

/**
 * Every other source retries transport failures, attempt timeouts, 408, 429, 500, 502, 503 and 504 (never 404:
 * Service Fabric forbids it).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryableDefault: (error: ManagedIdentityError) => boolean = Retry.isRetryableDefault

/**
 * The delay an error asks for through `Retry-After`, capped at {@link maxRetryAfter}.
 *
 * @since 0.1.0
 * @category combinators
 */
export const retryAfter = (error: ManagedIdentityError): Option.Option<Duration.Duration> =>
  Option.map(Option.fromUndefinedOr(Retry.retryAfterSeconds(error)), Duration.seconds)

/**
 * Parses a `Retry-After` header value, seconds or an HTTP date, into seconds from `now` (epoch milliseconds).
 *
 * @since 0.1.0
 * @category combinators
 */
export const parseRetryAfter: (value: string | undefined, now: number) => number | undefined = Retry.parseRetryAfter

/**
 * Makes a policy: `Retry-After` replaces the computed delay of the wrapped schedule (capped at 60 s).
 *
 * @since 0.1.0
 * @category combinators
 */
export const honourRetryAfter = (self: RetryPolicy): RetryPolicy =>
  Schedule.modifyDelay(
    self,
    ({ duration, input }) => Effect.succeed(Option.getOrElse(retryAfter(input), () => duration))
  )

/** The schedule, stopped by a failure `isRetryable` rejects. */
const whileInput =
  (isRetryable: (error: ManagedIdentityError) => boolean) =>
  <Output>(self: Schedule.Schedule<Output, ManagedIdentityError>): Schedule.Schedule<Output, ManagedIdentityError> =>
    Schedule.while(self, ({ input }) => isRetryable(input))

/**
 * Recurs while either policy does, after the shorter delay. (`Schedule.min` types its input as the intersection of
 * its members' inputs, which for a union of errors is `never`: both take the same input here.)
 */
const either = (self: RetryPolicy, that: RetryPolicy): RetryPolicy =>
  Schedule.min([self, that]) as Schedule.Schedule<Duration.Duration, unknown>

/**
 * Exponential back-off from 1 s, doubling, jittered, 3 retries, only while `isRetryable` holds for the failure.
 *
 * @since 0.1.0
 * @category schedules
 */
export const exponential = (options: {
  readonly isRetryable: (error: ManagedIdentityError) => boolean
  readonly base?: Duration.Input | undefined
  readonly factor?: number | undefined
  readonly retries?: number | undefined
}): RetryPolicy => {
  const base = options.base ?? Duration.millis(Retry.backoff.baseMillis)
  const backoff = Schedule.exponential(base, options.factor ?? Retry.backoff.factor).pipe(Schedule.jittered)
  return Schedule.max([
    Schedule.min([backoff, Schedule.spaced(maxRetryAfter)]),
    Schedule.recurs(options.retries ?? Retry.backoff.retries)
  ]).pipe(whileInput(options.isRetryable))
}

/**
 * The IMDS rule for `410 Gone` (the endpoint is being upgraded): keep trying about every 10 s until an attempt has
 * been made more than 70 s after the first `410` (the upgrade takes at most 70 s).
 *
 * @since 0.1.0
 * @category schedules
 */
export const imdsGone: RetryPolicy = Schedule.spaced(Duration.millis(Retry.imdsGone.spacingMillis)).pipe(
  Schedule.setInputType<ManagedIdentityError>(),
  Schedule.while(({ elapsed, input }) => elapsed <= Retry.imdsGone.forMillis && Retry.isGone(input))
)

/**
 * The IMDS policy: {@link exponential} for its retryable failures, {@link imdsGone} after a 410, and
 * `Retry-After` honoured.
 *
 * @since 0.1.0
 * @category schedules
 */
export const imds: RetryPolicy = honourRetryAfter(
  either(
    exponential({ isRetryable: (error) => isRetryableImds(error) && !Retry.isGone(error) }),
    imdsGone
  )
)

/**
 * The policy of every source but IMDS: {@link exponential} with {@link isRetryableDefault}, `Retry-After`
 * honoured.
 *
 * @since 0.1.0
 * @category schedules
 */
export const defaultPolicy: RetryPolicy = honourRetryAfter(exponential({ isRetryable: isRetryableDefault }))

/**
 * No retries at all.
 *
 * @example
 * ```ts
 * import { AppServiceTokenSource, ImdsTokenSource, RetryPolicy } from "@managed-identity/effect4"
 * import { Schedule } from "effect"
 *
 * const noRetries = AppServiceTokenSource.layerConfig({ retrySchedule: RetryPolicy.none })
 * const fiveQuickRetries = ImdsTokenSource.layer({
 *   retrySchedule: Schedule.max([Schedule.spaced("500 millis"), Schedule.recurs(5)]),
 *   attemptTimeout: "2 seconds"
 * })
 * ```
 *
 * @since 0.1.0
 * @category schedules
 */
export const none: RetryPolicy = Schedule.recurs(0)

/**
 * Turns a user's schedule into a source's policy: the user's timing and count, never retrying what the source's
 * `isRetryable` considers final (a 400 stays a 400), `Retry-After` honoured.
 *
 * @example
 * ```ts
 * import { ImdsTokenSource, RetryPolicy } from "@managed-identity/effect4"
 * import { Schedule } from "effect"
 *
 * const everySecond = RetryPolicy.fromSchedule(Schedule.spaced("1 second"), ImdsTokenSource.isRetryable)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const fromSchedule: {
  (
    isRetryable: (error: ManagedIdentityError) => boolean
  ): (self: Schedule.Schedule<unknown, ManagedIdentityError>) => RetryPolicy
  (
    self: Schedule.Schedule<unknown, ManagedIdentityError>,
    isRetryable: (error: ManagedIdentityError) => boolean
  ): RetryPolicy
} = dual(2, (
  self: Schedule.Schedule<unknown, ManagedIdentityError>,
  isRetryable: (error: ManagedIdentityError) => boolean
): RetryPolicy => honourRetryAfter(whileInput(isRetryable)(self)))
