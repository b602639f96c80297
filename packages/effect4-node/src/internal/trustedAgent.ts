import { InvalidIdentity } from "@managed-identity/effect4/ManagedIdentityError"
import type * as WorkloadIdentityTokenSource from "@managed-identity/effect4/WorkloadIdentityTokenSource"
import * as Result from "effect/Result"
import { X509Certificate } from "node:crypto"
import { Agent } from "undici"

const pemBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** The certificates of a PEM bundle; `InvalidIdentity` when it holds none, or one that does not parse. */
const certificates = (pem: string): Result.Result<ReadonlyArray<string>, InvalidIdentity> => {
  const invalid = (reason: string) => Result.fail(new InvalidIdentity({ source: "WorkloadIdentity", reason }))
  const blocks = pem.match(pemBlock) ?? []
  if (blocks.length === 0) return invalid("no PEM certificate in it")
  try {
    for (const block of blocks) new X509Certificate(block)
  } catch {
    return invalid("a PEM certificate in it does not parse")
  }
  return Result.succeed(blocks)
}

/**
 * An undici agent that trusts exactly `trust`: only the CA certificates given (else Node's default trust, which
 * includes `NODE_EXTRA_CA_CERTS`), presenting `serverName` as SNI and checking the certificate against it. It sets
 * `rejectUnauthorized: true` itself, so `NODE_TLS_REJECT_UNAUTHORIZED=0` (which only changes the default) cannot turn
 * the CA and the server name check off and hand the assertion to an impostor.
 */
export const trustedAgent = (trust: WorkloadIdentityTokenSource.Trust): Result.Result<Agent, InvalidIdentity> =>
  Result.map(
    trust.ca === undefined ? Result.succeed(undefined) : certificates(trust.ca),
    (ca) =>
      new Agent({
        connect: {
          rejectUnauthorized: true,
          ...(ca === undefined ? {} : { ca: [...ca] }),
          ...(trust.serverName === undefined ? {} : { servername: trust.serverName })
        }
      })
  )
