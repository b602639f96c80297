import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { InvalidIdentity } from "@managed-identity/core/ManagedIdentityError"
import type * as WorkloadIdentityTokenSource from "@managed-identity/core/WorkloadIdentityTokenSource"
import * as Either from "effect/Either"
import { X509Certificate } from "node:crypto"
import { Agent } from "undici"
import type * as UndiciClients from "./undiciClients.js"

const pemBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** The certificates of a PEM bundle; `InvalidIdentity` when it holds none, or one that does not parse. */
const certificates = (pem: string): Either.Either<ReadonlyArray<string>, InvalidIdentity> => {
  const invalid = (reason: string) => Either.left(new InvalidIdentity({ source: "WorkloadIdentity", reason }))
  const blocks = pem.match(pemBlock) ?? []
  if (blocks.length === 0) return invalid("no PEM certificate in it")
  try {
    for (const block of blocks) new X509Certificate(block)
  } catch {
    return invalid("a PEM certificate in it does not parse")
  }
  return Either.right(blocks)
}

/**
 * An undici agent that trusts exactly `trust`: only the CA certificates given (else Node's default trust, which
 * includes `NODE_EXTRA_CA_CERTS`), presenting `serverName` as SNI and checking the certificate against it. It sets
 * `rejectUnauthorized: true` itself, so `NODE_TLS_REJECT_UNAUTHORIZED=0` (which only changes the default) cannot turn
 * the CA and the server name check off and hand the assertion to an impostor.
 */
export const makeTrustedClient = (
  trust: WorkloadIdentityTokenSource.Trust
): Either.Either<UndiciClients.AgentClient, InvalidIdentity> =>
  Either.map(
    trust.ca === undefined ? Either.right(undefined) : certificates(trust.ca),
    (ca) => {
      const agent = new Agent({
        connect: {
          rejectUnauthorized: true,
          ...(ca === undefined ? {} : { ca: [...ca] }),
          ...(trust.serverName === undefined ? {} : { servername: trust.serverName })
        }
      })
      return { agent, client: NodeHttpClient.makeUndici(agent) }
    }
  )
