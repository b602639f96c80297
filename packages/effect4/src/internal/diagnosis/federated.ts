/**
 * Hop 2 of a managed identity used as a federated credential, for `ManagedIdentityDiagnosis.diagnose`: the exchange of
 * the managed identity's token (hop 1, the token the diagnosis received) for the application's, timed, as a finding.
 */
import * as Diagnosis from "@managed-identity/protocol/Diagnosis"
import * as Endpoint from "@managed-identity/protocol/Endpoint"
import * as FederatedCredential from "@managed-identity/protocol/sources/FederatedCredential"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Result from "effect/Result"
import type { AccessToken } from "../../AccessToken.js"
import * as FederatedCredentialTokenSource from "../../FederatedCredentialTokenSource.js"
import type { ManagedIdentityError } from "../../ManagedIdentityError.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import * as TokenSource from "../../TokenSource.js"

/** The application trusting the managed identity (`ManagedIdentityDiagnosis.Options.federatedCredential`). */
export type Application = Omit<FederatedCredentialTokenSource.Options, keyof TokenSource.TimingOptions>

/** The audience hop 1 asks for. */
export const audienceOf = (application: Application): string =>
  application.audience ?? FederatedCredentialTokenSource.defaultAudience

/**
 * The finding of hop 2: the exchange of `assertion` (hop 1's outcome) for the application's token for `resource`, one
 * attempt within `budget`; skipped when hop 1 gave no token.
 */
export const exchange = (
  application: Application,
  source: TokenSource.TokenSource.Service,
  assertion: Result.Result<AccessToken, ManagedIdentityError>,
  resource: string,
  budget: Duration.Duration
): Effect.Effect<Diagnosis.Finding, never, HttpClient.HttpClient> => {
  const app = `application ${application.clientId} in tenant ${application.tenantId}`
  if (Result.isFailure(assertion)) {
    return Effect.succeed(Diagnosis.finding(
      "warning",
      "federated.skipped",
      `the exchange for ${app} was not tried: the managed identity gave no token for ${audienceOf(application)}`
    ))
  }
  const checked = FederatedCredential.check(application)
  const endpoint = checked._tag === "Ok" ? Endpoint.displayUrl(checked.value.url) : "(not valid)"
  return FederatedCredentialTokenSource.make({
    ...application,
    retrySchedule: RetryPolicy.none,
    attemptTimeout: budget,
    deadline: budget
  }).pipe(
    Effect.provideService(TokenSource.TokenSource, { ...source, getToken: () => Effect.succeed(assertion.success) }),
    Effect.flatMap((exchanged) => Effect.timed(Effect.result(exchanged.getToken({ resource })))),
    Effect.map(([duration, result]) => {
      const millis = `${Math.round(Duration.toMillis(duration))} ms`
      return Result.match(result, {
        onSuccess: (token) =>
          Diagnosis.finding(
            "ok",
            "federated.exchanged",
            `${endpoint} exchanged the managed identity's token for a token of ${app} for ${token.resource} in ${millis}`
          ),
        onFailure: (error) =>
          error._tag === "InvalidIdentity"
            ? Diagnosis.finding("error", "federated.misconfigured", error.message)
            : error._tag === "TokenRequestFailed"
            ? Diagnosis.finding(
              "error",
              "federated.refused",
              `${endpoint} refused the exchange for ${app}: ${error.message}`
            )
            : Diagnosis.finding(
              "error",
              "federated.failed",
              `the exchange for ${app} at ${endpoint} failed after ${millis}: ${error._tag}: ${error.message}`
            )
      })
    }),
    Effect.scoped
  )
}
