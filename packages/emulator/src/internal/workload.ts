import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as HashSet from "effect/HashSet"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Path from "node:path"
import * as EmulatorIdentity from "./identity.js"
import { type EmulatorError, failWith, type WorkloadIdentity } from "./model.js"
import * as Certificates from "./workloadCertificates.js"

/** What the STS makes of a `client_assertion`. */
export type AssertionStatus = "current" | "expired" | "unknown"

/**
 * Workload identity's files, in a temporary directory removed when the scope closes: the federated token (rewritten
 * on rotation, as kubelet does), the STS's CA (for `NODE_EXTRA_CA_CERTS`) and the token proxy's CA.
 *
 * @internal
 */
export interface WorkloadFiles {
  readonly tokenFile: string
  readonly caFile: string
  readonly proxyCaFile: string
  readonly current: Effect.Effect<Redacted.Redacted<string>>
  readonly rotate: Effect.Effect<Redacted.Redacted<string>>
  /** The current token is accepted; a token rotated out is expired; anything else is unknown. */
  readonly assertion: (value: string) => Effect.Effect<AssertionStatus>
}

/** @internal */
export const make: Effect.Effect<WorkloadFiles, EmulatorError, FileSystem.FileSystem | Scope.Scope> = Effect.gen(
  function*() {
    const fs = yield* FileSystem.FileSystem
    const directory = yield* fs.makeTempDirectoryScoped({ prefix: "managed-identity-workload-" }).pipe(
      Effect.mapError(failWith("Could not create the workload identity directory"))
    )
    const tokenFile = Path.join(directory, "azure-identity-token")
    const caFile = Path.join(directory, "sts-ca.pem")
    const proxyCaFile = Path.join(directory, "token-proxy-ca.pem")
    const tokens = yield* Ref.make({ current: "", expired: HashSet.empty<string>() })
    const write = (path: string, content: string) =>
      Effect.zipRight(fs.writeFileString(`${path}.tmp`, content, { mode: 0o600 }), fs.rename(`${path}.tmp`, path))
    const rotate = Effect.gen(function*() {
      const token = EmulatorIdentity.mintFederatedToken(Math.floor((yield* Clock.currentTimeMillis) / 1000))
      yield* Effect.orDie(write(tokenFile, token))
      yield* Ref.update(tokens, ({ current, expired }) => ({
        current: token,
        expired: current === "" ? expired : HashSet.add(expired, current)
      }))
      return Redacted.make(token)
    })
    yield* Effect.all([
      write(caFile, Certificates.stsCaCertificate),
      write(proxyCaFile, Certificates.proxyCaCertificate)
    ]).pipe(Effect.mapError(failWith("Could not write the workload identity CA files")))
    yield* rotate
    return {
      tokenFile,
      caFile,
      proxyCaFile,
      current: Effect.map(Ref.get(tokens), ({ current }) => Redacted.make(current)),
      rotate,
      assertion: (value) =>
        Effect.map(
          Ref.get(tokens),
          ({ current, expired }) => value === current ? "current" : HashSet.has(expired, value) ? "expired" : "unknown"
        )
    }
  }
)

/**
 * Workload identity as a running emulator describes it: its STS and token proxy at `addresses`, their CAs, the pod's
 * identity and files.
 *
 * @internal
 */
export const describe = (
  files: WorkloadFiles,
  addresses: { readonly authorityHost: string; readonly tokenProxy: string }
): WorkloadIdentity => ({
  authorityHost: addresses.authorityHost,
  tenantId: EmulatorIdentity.tenantId,
  clientId: EmulatorIdentity.systemAssigned.WorkloadIdentity.clientId,
  tokenFile: files.tokenFile,
  caCertificate: Certificates.stsCaCertificate,
  caFile: files.caFile,
  tokenProxy: addresses.tokenProxy,
  sniName: Certificates.proxyServerName,
  proxyCaCertificate: Certificates.proxyCaCertificate,
  proxyCaFile: files.proxyCaFile,
  federatedToken: files.current,
  rotate: files.rotate
})
