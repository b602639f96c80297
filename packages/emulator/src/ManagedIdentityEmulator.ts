/**
 * A local server on 127.0.0.1 that speaks all seven managed identity protocols as the real endpoints do: IMDS, App
 * Service, Azure ML, Cloud Shell and Azure Arc on one HTTP server, Service Fabric on HTTPS with a self-signed
 * certificate, AKS workload identity (an Entra STS over HTTPS with its own CA, a federated token file it rotates, a
 * token proxy with another CA, reached by its TLS server name), and the exchange of its managed identity tokens for
 * applications' (`Options.appRegistrations`). It issues RS256 JWTs as Entra does, signed with a key of its own whose
 * JWKS the STS serves (`openId`); it records every request and plays fault scripts per source.
 *
 * Paths on `baseUrl`: IMDS `/metadata/identity/oauth2/token`, App Service `/msi/token`, Azure ML `/ml/token`, Cloud
 * Shell `/oauth2/token`, Azure Arc `/arc/metadata/identity/oauth2/token`, and the control endpoint `/_emulator/faults`
 * (`PUT`), `/_emulator/requests` (`GET`, `DELETE`) and `/_emulator/workload-identity/rotate` (`POST`). Service Fabric
 * is `serviceFabricUrl`; the STS is `workloadIdentity.authorityHost` (`/{tenant}/oauth2/v2.0/token`, the discovery
 * documents and keys of `openId`), and the token proxy serves the same below its `tokenProxy`.
 *
 * Time comes from the `Clock` of the fiber that starts the emulator, so under `TestClock` tokens are issued at test
 * time and `delay` / `trickle` faults wait for the clock to be adjusted.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as EmulatorArcKeys from "./internal/arcKeys.js"
import * as EmulatorCertificate from "./internal/certificate.js"
import * as EmulatorEndpoint from "./internal/endpoint.js"
import * as EmulatorFaults from "./internal/faults.js"
import * as EmulatorFederated from "./internal/federated.js"
import * as EmulatorIdentity from "./internal/identity.js"
import * as Model from "./internal/model.js"
import * as EmulatorRecorder from "./internal/recorder.js"
import * as EmulatorServer from "./internal/server.js"
import * as EmulatorSigning from "./internal/signing.js"
import * as EmulatorTrust from "./internal/trust.js"
import * as EmulatorWorkload from "./internal/workload.js"

/**
 * The managed identity sources the emulator serves (the core's `TokenSource.SourceKind`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SourceKind: typeof Model.SourceKind = Model.SourceKind

/**
 * @since 0.1.0
 * @category models
 */
export type SourceKind = Model.SourceKind

/**
 * One step of a fault script; `times: n` repeats it n times (a script decoded from JSON: `n` up to 10 000, at most
 * 1000 steps and 10 000 once `times` is counted; `times` is counted down, never expanded).
 *
 * - `{ status, body?, headers? }` answers with that status, headers and body (a string is sent as is, anything
 *   else as JSON; without a body, an error body in the source's own shape).
 * - `{ echo: status }` answers that status with an error body quoting the request (URL, headers, body), secrets too.
 * - `{ delay: ms }` waits, then answers normally.
 * - `{ reset: true }` destroys the connection without answering; `{ truncated: true }` sends the normal answer's
 *   status, headers and `content-length`, half its body, then closes the connection.
 * - `{ hang: true }` never answers (closing the emulator still closes the connection).
 * - `{ malformedJson: true }` answers 200 with the first half of the normal JSON body.
 * - `{ oversized: true }` answers 200 with valid JSON of more than 100 KiB (the normal body plus `padding`).
 * - `{ trickle: ms }` answers normally, 16 bytes at a time with that pause between chunks.
 * - `{ aadsts: code }` answers as Microsoft Entra does with that `AADSTS` error, e.g. `700024` (the client assertion
 *   is expired: `400 invalid_client`), `700016`, `700211`, `90002`, `90033` (`503`), `50000` (`500`).
 * - `{ otherIdentity: true }` issues the next token for {@link otherIdentity} instead of the identity asked for (the
 *   IMDS quirk: a VM with exactly one user-assigned identity answers a system-assigned request with it); Azure Arc
 *   and Azure ML echo that identity in the body, as they echo the one they issue for.
 * - `{ skew: s }` issues the next token with its `iat`, `nbf` and `exp` claims `s` seconds (an integer, negative for
 *   the past) off the emulator's clock, as when the host's clock and the identity provider's disagree.
 *
 * The last two change the next token issued, not the next answer: they stay queued through answers that issue no
 * token (an Azure Arc challenge, an error).
 *
 * @since 0.1.0
 * @category schemas
 */
export const FaultStep: typeof Model.FaultStep = Model.FaultStep

/**
 * @since 0.1.0
 * @category models
 */
export type FaultStep = Model.FaultStep

/**
 * Fault scripts by source, e.g. `{"Imds": [{"status": 500, "times": 2}]}`; a source not named keeps its script.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FaultScripts: typeof Model.FaultScripts = Model.FaultScripts

/**
 * @since 0.1.0
 * @category models
 */
export type FaultScripts = Model.FaultScripts

/**
 * Why the emulator could not start, or a fault script that did not decode.
 *
 * @since 0.1.0
 * @category errors
 */
export const EmulatorError: typeof Model.EmulatorError = Model.EmulatorError

/**
 * @since 0.1.0
 * @category errors
 */
export type EmulatorError = Model.EmulatorError

/**
 * A managed identity as the emulator knows it.
 *
 * @since 0.1.0
 * @category models
 */
export type Identity = Model.Identity

/**
 * The identity each source issues system-assigned tokens for (`appid`, `oid` and `xms_mirid` claims).
 *
 * @since 0.1.0
 * @category constants
 */
export const systemAssignedIdentities: Readonly<Record<SourceKind, Identity>> = EmulatorIdentity.systemAssigned

/**
 * The identity that an `{ otherIdentity: true }` fault issues a token for: a user-assigned identity named
 * `emulator-other-identity`, client id `5a5a0009-0000-4000-8000-000000000009`.
 *
 * @since 0.1.0
 * @category constants
 */
export const otherIdentity: Identity = EmulatorIdentity.otherIdentity

/**
 * What `start` takes: port, token lifetime, Azure Arc key directory, fault scripts, known identities, TLS pair.
 *
 * @since 0.1.0
 * @category models
 */
export type Options = Model.Options

/**
 * One request as the emulator received it.
 *
 * @since 0.1.0
 * @category models
 */
export type RecordedRequest = Model.RecordedRequest

/**
 * The secrets a running emulator expects, random per start.
 *
 * @since 0.1.0
 * @category models
 */
export type Secrets = Model.Secrets

/**
 * Workload identity on the emulator: the STS and its CA, the federated token file, the token proxy and its CA.
 *
 * @since 0.1.0
 * @category models
 */
export type WorkloadIdentity = Model.WorkloadIdentity

/**
 * How a service checks the emulator's access tokens as it checks Entra's: their issuer, the OpenID configuration and
 * JWKS URLs on the STS, and the JWKS itself.
 *
 * @since 0.1.0
 * @category models
 */
export type OpenId = EmulatorSigning.OpenId

/**
 * A running emulator: its addresses, secrets and variables, the requests it received, and its fault scripts.
 *
 * @since 0.1.0
 * @category models
 */
export type Emulator = Model.Emulator

/**
 * @since 0.1.0
 * @category tags
 */
export class ManagedIdentityEmulator extends Context.Tag("@managed-identity/emulator/ManagedIdentityEmulator")<
  ManagedIdentityEmulator,
  Emulator
>() {}

/**
 * Decodes fault scripts from JSON (as given to `PUT /_emulator/faults`); unknown fields are rejected.
 *
 * @since 0.1.0
 * @category schemas
 */
export const decodeFaultScripts: (json: string) => Effect.Effect<FaultScripts, EmulatorError> = Model.decodeFaultScripts

/**
 * Starts the emulator; its servers stop, and its temporary files go, when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (options: Options = {}): Effect.Effect<Emulator, EmulatorError, Scope.Scope> =>
  Effect.gen(function*() {
    const tls = options.tls ?? EmulatorCertificate.defaultPair
    const thumbprint = yield* EmulatorCertificate.thumbprint(tls.cert)
    const arcKeys = yield* EmulatorArcKeys.make(options.arcKeyDirectory)
    const workload = yield* EmulatorWorkload.make
    const secrets = yield* EmulatorEndpoint.makeSecrets
    const signingKey = yield* EmulatorSigning.make
    const faults = yield* EmulatorFaults.makeQueues(options.faults ?? {})
    const recorder = yield* EmulatorRecorder.make
    const environment: EmulatorEndpoint.Environment = {
      secrets,
      signingKey,
      lifetime: Math.floor(Duration.toSeconds(options.tokenLifetime ?? Duration.seconds(86400))),
      knownIdentities: Option.fromNullable(options.knownIdentities),
      arcChallenge: arcKeys.challenge,
      arcRedeem: arcKeys.redeem,
      federatedAssertion: workload.assertion,
      federated: yield* EmulatorFederated.make(options.appRegistrations),
      nextTokenFault: faults.nextToken
    }
    const addresses = yield* EmulatorServer.serve({
      port: options.port ?? 0,
      tls,
      environment,
      faults,
      recorder,
      rotateFederatedToken: workload.rotate
    })
    const facts: EmulatorServer.HostFacts = { secrets, thumbprint, workload }
    return {
      baseUrl: addresses.baseUrl,
      serviceFabricUrl: addresses.serviceFabricUrl,
      thumbprint,
      arcKeyDirectory: arcKeys.directory,
      secrets,
      workloadIdentity: EmulatorWorkload.describe(workload, addresses),
      openId: EmulatorIdentity.openId(addresses.authorityHost, signingKey),
      env: (kind, envOptions) => EmulatorServer.variables(kind, addresses, facts, envOptions),
      requests: recorder.requests,
      requestCount: recorder.count,
      clearRequests: recorder.clear,
      setFaults: faults.set,
      lastArcKey: arcKeys.last
    } satisfies Emulator
  }).pipe(Effect.provide(NodeFileSystem.layer))

/**
 * The `fetch` of `FetchHttpClient` (which `NodeManagedIdentity.layerPlatform` uses) trusting the emulator's STS CA
 * besides Node's root CAs, for code that runs in the emulator's own process: there `NODE_EXTRA_CA_CERTS`, which Node
 * reads only when a process starts, cannot make Node trust it. Provide it around the layers that use the client.
 *
 * @example
 * ```ts
 * import { ManagedIdentityClient } from "@managed-identity/core"
 * import { ManagedIdentityEmulator } from "@managed-identity/emulator"
 * import { NodeManagedIdentity } from "@managed-identity/platform-node"
 * import { ConfigProvider, Effect } from "effect"
 *
 * const token = Effect.gen(function*() {
 *   const emulator = yield* ManagedIdentityEmulator.start()
 *   return yield* Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) =>
 *     client.getToken("https://vault.azure.net")).pipe(
 *       Effect.provide(NodeManagedIdentity.layer),
 *       Effect.provide(ManagedIdentityEmulator.layerTrustingFetch(emulator)),
 *       Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(emulator.env("WorkloadIdentity")))))
 *     )
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTrustingFetch = (emulator: Emulator): Layer.Layer<FetchHttpClient.Fetch> =>
  EmulatorTrust.layerFetch(emulator.workloadIdentity.caCertificate)

/**
 * The emulator as a service, started when the layer is built and stopped when it is released.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<ManagedIdentityEmulator, EmulatorError> =>
  Layer.scoped(ManagedIdentityEmulator, start(options))
