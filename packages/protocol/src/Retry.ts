/**
 * Which failures are worth another attempt, and how long an endpoint asks to wait (PROTOCOL.md's retry table). The
 * schedules themselves are each line's own.
 *
 * @since 0.1.0
 */
import type { Problem } from "./Problem.js"

/**
 * The two retry classes: IMDS's, and every other source's.
 *
 * @since 0.1.0
 * @category models
 */
export type RetryClass = "Imds" | "Default"

/**
 * The longest `Retry-After` honoured as a retry delay, in seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxRetryAfterSeconds = 60

/**
 * Default time allowed for one attempt, in milliseconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAttemptTimeoutMillis = 10_000

/**
 * Default time allowed for one request for a token, all attempts and delays included, in milliseconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultDeadlineMillis = 100_000

/**
 * The retries before giving up, and the first delay (doubled each time, jittered), in milliseconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const backoff = { retries: 3, baseMillis: 1000, factor: 2 } as const

/**
 * After IMDS answers `410 Gone` (an upgrade), keep trying every `spacingMillis` until `forMillis` have passed.
 *
 * @since 0.1.0
 * @category constants
 */
export const imdsGone = { spacingMillis: 10_000, forMillis: 70_000 } as const

const statusOf = (problem: Problem): number | undefined =>
  problem._tag === "TokenRequestFailed" ? problem.status : undefined

const isTransient = (problem: Problem): boolean => problem._tag === "ConnectionFailed" || problem._tag === "Timeout"

/**
 * IMDS retries transport failures, attempt timeouts, 404, 408, 410, 429 and every 5xx.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryableImds = (problem: Problem): boolean => {
  const status = statusOf(problem)
  return isTransient(problem) ||
    (status !== undefined &&
      (status === 404 || status === 408 || status === 410 || status === 429 || (status >= 500 && status <= 599)))
}

/**
 * Every other source retries transport failures, attempt timeouts, 408, 429, 500, 502, 503 and 504 (never 404:
 * Service Fabric forbids it).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryableDefault = (problem: Problem): boolean => {
  const status = statusOf(problem)
  return isTransient(problem) ||
    (status !== undefined &&
      (status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504))
}

/**
 * Whether a problem is IMDS's `410 Gone`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isGone = (problem: Problem): boolean => statusOf(problem) === 410

/**
 * The retry predicate of a retry class.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (retryClass: RetryClass): (problem: Problem) => boolean =>
  retryClass === "Imds" ? isRetryableImds : isRetryableDefault

/**
 * Parses a `Retry-After` header value, seconds or an HTTP date, into seconds from `now` (epoch milliseconds).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed)
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000))
}

/**
 * The delay, in seconds, a problem asks for through `Retry-After`, capped at {@link maxRetryAfterSeconds}.
 *
 * @since 0.1.0
 * @category parsing
 */
export const retryAfterSeconds = (problem: Problem): number | undefined =>
  problem._tag === "TokenRequestFailed" && problem.retryAfter !== undefined
    ? Math.min(Math.max(0, problem.retryAfter), maxRetryAfterSeconds)
    : undefined
