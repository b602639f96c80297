/**
 * The token's issue time against the local clock, for `ManagedIdentitySource.diagnose`.
 */
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"
import type { TokenOrigin } from "../AccessToken.js"
import { type Claims, type ClockCheck, type Finding, finding } from "./diagnosisModel.js"

/** A skew beyond this between the token's `iat` and the local clock is a finding. */
export const maxSkewSeconds = 300

const minutes = (seconds: number): string => {
  const abs = Math.abs(seconds)
  return abs < 120 ? `${Math.round(abs)} s` : `${Math.round(abs / 60)} min`
}

/**
 * The token's `iat` against the local clock at `now` (epoch milliseconds). For a token just issued, an `iat` more
 * than 5 minutes away either way is a warning; a token from the cache was issued earlier by design, so only an `iat`
 * in the future counts.
 */
export const checkClock = (
  claims: Option.Option<Claims>,
  origin: TokenOrigin,
  now: number
): { readonly check: Option.Option<ClockCheck>; readonly finding: Option.Option<Finding> } => {
  const iat = Option.flatMap(claims, (token) => Option.fromNullable(token.iat))
  const issuedAt = Option.flatMap(iat, (seconds) => DateTime.make(seconds * 1000))
  const checkedAt = DateTime.make(now)
  if (Option.isNone(iat) || Option.isNone(issuedAt) || Option.isNone(checkedAt)) {
    return { check: Option.none(), finding: Option.none() }
  }
  const offsetSeconds = Math.round(iat.value - Math.floor(now / 1000))
  const check: ClockCheck = { issuedAt: issuedAt.value, checkedAt: checkedAt.value, offsetSeconds }
  const found = offsetSeconds > maxSkewSeconds
    ? finding(
      "warning",
      "clock.skew",
      `the token was issued ${
        minutes(offsetSeconds)
      } in the future by this host's clock: this clock is behind the identity provider's (sync it, e.g. with NTP); downstream services may call tokens "not yet valid"`
    )
    : offsetSeconds < -maxSkewSeconds && origin === "identity_provider"
    ? finding(
      "warning",
      "clock.skew",
      `the token was issued ${
        minutes(offsetSeconds)
      } before this host's clock says it arrived: this clock is ahead of the identity provider's (sync it), or the endpoint handed out a token it had cached`
    )
    : finding(
      "ok",
      "clock.ok",
      origin === "cache" && offsetSeconds < -maxSkewSeconds
        ? `the cached token was issued ${minutes(offsetSeconds)} ago, not in the future`
        : `the token's iat is within ${minutes(maxSkewSeconds)} of this host's clock (${offsetSeconds} s)`
    )
  return { check: Option.some(check), finding: Option.some(found) }
}
