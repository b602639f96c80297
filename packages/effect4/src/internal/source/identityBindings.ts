/**
 * Identity bindings' clients: the `HttpClient` of each attempt to the token proxy, trusting only the CA the cluster
 * names, with the CA file re-read for every attempt (the cluster rotates it).
 */
import * as IdentityBindings from "@managed-identity/protocol/sources/IdentityBindings"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { fromProblem, type InvalidIdentity, type ManagedIdentityError } from "../../ManagedIdentityError.js"
import type { Read } from "./fileReader.js"

/** Which servers a client trusts. */
export interface Trust {
  /** PEM certificates, the only authorities trusted; without, the platform's default trust. */
  readonly ca?: string | undefined
  /** The TLS server name (SNI), which the server's certificate must be valid for; without, the URL's host. */
  readonly serverName?: string | undefined
}

/** Builds a client that trusts exactly `trust`; fails with `InvalidIdentity` if `ca` holds no certificate. */
export type ForTrust = (trust: Trust) => Effect.Effect<HttpClient.HttpClient, InvalidIdentity>

/**
 * The client of each attempt to a checked proxy. A CA file is read every time (by `read`, links followed, at most
 * 1 MiB): new content means a new client that trusts it; an empty file means the cluster is rotating it, so the last
 * CA read keeps being trusted (or, when none was read yet, the attempt fails with `SourceUnavailable` and nothing is
 * sent). A file that cannot be read — missing, a FIFO, a device, a directory, too large — is a `SourceUnavailable`
 * naming `AZURE_KUBERNETES_CA_FILE`.
 */
export const clients = (
  checked: IdentityBindings.Checked,
  forTrust: ForTrust,
  read: Read
): Effect.Effect<Effect.Effect<HttpClient.HttpClient, ManagedIdentityError>> =>
  Effect.map(Ref.make(Option.none<string>()), (lastCa) => {
    const { ca, serverName } = checked
    const unusable = (variable: string) => (error: InvalidIdentity) =>
      fromProblem(IdentityBindings.unusableCa(variable, error.reason))
    if (ca._tag === "Platform") return forTrust({ serverName })
    if (ca._tag === "Data") {
      return Effect.mapError(forTrust({ ca: ca.pem, serverName }), unusable(IdentityBindings.variables.caData))
    }
    const trusted = (pem: string) =>
      Effect.mapError(forTrust({ ca: pem, serverName }), unusable(IdentityBindings.variables.caFile))
    return read(ca.path, { maxBytes: IdentityBindings.maxCaFileBytes, followLinks: true }).pipe(
      Effect.mapError((failure) => fromProblem(IdentityBindings.caFileUnread(checked, ca.path, failure))),
      Effect.map((bytes) => new TextDecoder().decode(bytes)),
      Effect.flatMap((pem) =>
        pem.trim() !== ""
          ? Effect.tap(trusted(pem), () => Ref.set(lastCa, Option.some(pem)))
          : Effect.flatMap(Ref.get(lastCa), (last): Effect.Effect<HttpClient.HttpClient, ManagedIdentityError> =>
            Option.match(last, {
              onNone: () =>
                Effect.fail(fromProblem(IdentityBindings.caFileRotating(checked, ca.path))),
              onSome: trusted
            }))
      )
    )
  })
