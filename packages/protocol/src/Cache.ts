/**
 * The client's rules about time (PROTOCOL.md, "Cache and refresh"): when a cached token may be served, when it is
 * due for refresh, and how long a throttled answer is remembered.
 *
 * @since 0.1.0
 */
import type { Problem } from "./Problem.js"

/**
 * A cached token is served while at least this much of its lifetime remains.
 *
 * @since 0.1.0
 * @category constants
 */
export const minimumRemainingMillis = 300_000

/**
 * How long a throttled answer is remembered at most.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxThrottleMillis = 3_600_000

/**
 * How long a `429` without `Retry-After` is remembered.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultThrottleMillis = 5_000

/**
 * Whether a token expiring at `expiresOn` may be served (and so cached) at `now` (both epoch milliseconds).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isServable = (expiresOn: number, now: number): boolean => expiresOn - now >= minimumRemainingMillis

/**
 * How long a failure is remembered so that callers get it again without a request: a `429` for its `Retry-After`
 * (else 5 s), a `5xx` with `Retry-After` for that long, at most an hour; `undefined` for anything else.
 *
 * @since 0.1.0
 * @category constructors
 */
export const throttleMillis = (problem: Problem): number | undefined => {
  if (problem._tag !== "TokenRequestFailed") return undefined
  const { retryAfter, status } = problem
  const millis = status === 429
    ? retryAfter === undefined ? defaultThrottleMillis : retryAfter * 1000
    : status >= 500 && status <= 599 && retryAfter !== undefined
    ? retryAfter * 1000
    : undefined
  return millis === undefined ? undefined : Math.min(millis, maxThrottleMillis)
}
