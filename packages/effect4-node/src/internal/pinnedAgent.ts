import { ServiceFabricCertificateMismatch } from "@managed-identity/effect4/ManagedIdentityError"
import * as Crypto from "node:crypto"
import * as Tls from "node:tls"
import { Agent, buildConnector } from "undici"

const mismatch = (options: buildConnector.Options, expected: string, actual: string) =>
  new ServiceFabricCertificateMismatch({
    source: "ServiceFabric",
    endpoint: options.port === "" ? options.hostname : `${options.hostname}:${options.port}`,
    reason: `expected the certificate thumbprint ${expected}, got ${actual}`
  })

/**
 * An undici agent whose connections are trusted only if the SHA-1 of the server certificate's DER encoding is
 * `thumbprint` (normalised, lower-case hex). The pin is checked in the connect callback, before undici writes the
 * request; sessions are not cached, so every connection shows its certificate. The pin is the trust, so CA
 * validation is off by an explicit `rejectUnauthorized: false`, and nothing in the environment
 * (`NODE_TLS_REJECT_UNAUTHORIZED` included) changes what the callback checks.
 */
export const pinnedAgent = (thumbprint: string): Agent => {
  const expected = Buffer.from(thumbprint, "hex")
  const connector = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 })
  return new Agent({
    connect: (options, callback) =>
      connector(options, (error, socket) => {
        if (error !== null) return callback(error, null)
        const certificate = socket instanceof Tls.TLSSocket ? socket.getPeerX509Certificate() : undefined
        const actual = certificate === undefined
          ? undefined
          : Crypto.createHash("sha1").update(certificate.raw).digest()
        if (actual !== undefined && actual.length === expected.length && Crypto.timingSafeEqual(actual, expected)) {
          return callback(null, socket)
        }
        socket.destroy()
        callback(mismatch(options, thumbprint, actual === undefined ? "no certificate" : actual.toString("hex")), null)
      })
  })
}
