/**
 * A token's issue time (`iat`) against the local clock.
 *
 * @since 0.1.0
 */
import type * as Claims from "./Claims.js"
import * as Diagnosis from "./Diagnosis.js"

/**
 * A skew beyond this between the token's `iat` and the local clock is a finding.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxSkewSeconds = 300

/**
 * The token's `iat` against the local clock when it was checked (epoch milliseconds); `offsetSeconds` is `iat` minus
 * that time.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClockCheck {
  readonly issuedAt: number
  readonly checkedAt: number
  readonly offsetSeconds: number
}

const minutes = (seconds: number): string => {
  const abs = Math.abs(seconds)
  return abs < 120 ? `${Math.round(abs)} s` : `${Math.round(abs / 60)} min`
}

/**
 * The token's `iat` against the local clock at `now` (epoch milliseconds); nothing when the token has no `iat`. For a
 * token just issued (`origin` `identity_provider`), an `iat` more than 5 minutes away either way is a warning; a
 * token from the cache was issued earlier by design, so only an `iat` in the future counts.
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (
  claims: Claims.Claims | undefined,
  origin: "identity_provider" | "cache",
  now: number
): { readonly check: ClockCheck; readonly finding: Diagnosis.Finding } | undefined => {
  const iat = claims?.iat
  if (iat === undefined) return undefined
  const offsetSeconds = Math.round(iat - Math.floor(now / 1000))
  const found = offsetSeconds > maxSkewSeconds
    ? Diagnosis.finding(
      "warning",
      "clock.skew",
      `the token was issued ${
        minutes(offsetSeconds)
      } in the future by this host's clock: this clock is behind the identity provider's (sync it, e.g. with NTP); downstream services may call tokens "not yet valid"`
    )
    : offsetSeconds < -maxSkewSeconds && origin === "identity_provider"
    ? Diagnosis.finding(
      "warning",
      "clock.skew",
      `the token was issued ${
        minutes(offsetSeconds)
      } before this host's clock says it arrived: this clock is ahead of the identity provider's (sync it), or the endpoint handed out a token it had cached`
    )
    : Diagnosis.finding(
      "ok",
      "clock.ok",
      origin === "cache" && offsetSeconds < -maxSkewSeconds
        ? `the cached token was issued ${minutes(offsetSeconds)} ago, not in the future`
        : `the token's iat is within ${minutes(maxSkewSeconds)} of this host's clock (${offsetSeconds} s)`
    )
  return { check: { issuedAt: iat * 1000, checkedAt: now, offsetSeconds }, finding: found }
}
