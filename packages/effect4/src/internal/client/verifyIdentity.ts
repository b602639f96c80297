/**
 * Identity verification: the source's tokens checked against the requested identity with `doctor`'s rules before the
 * client sees them, so a token for another identity fails and is never cached.
 */
import * as IdentityCheck from "@managed-identity/protocol/IdentityCheck"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { fromProblem } from "../../ManagedIdentityError.js"
import type * as TokenSource from "../../TokenSource.js"

/**
 * The source, its tokens verified: a token whose claims (read without verifying the signature) name another identity
 * than the source's fails with `IdentityMismatch`; one that cannot be checked (not JWT-shaped, or without the claim
 * the identity is compared with) passes, as `doctor` calls it unconfirmed rather than wrong.
 */
export const verifying = (source: TokenSource.TokenSource.Service): TokenSource.TokenSource.Service => {
  const host: IdentityCheck.HostIdentity = {
    defaultClientId: source.defaultClientId,
    workloadClientId: source.defaultClientId
  }
  return {
    ...source,
    getToken: (request) =>
      Effect.flatMap(source.getToken(request), (issued) => {
        const mismatch = IdentityCheck.verify(source.kind, source.identity, Redacted.value(issued.token), host)
        return mismatch === undefined ? Effect.succeed(issued) : Effect.fail(fromProblem(mismatch))
      })
  }
}
