/**
 * The real Node stack against the real emulator: the process environment a host of `kind` would have, as a
 * `ConfigProvider`, and the client built by `NodeManagedIdentity.layerWithOptions`.
 */
import { ManagedIdentity, ManagedIdentityClient, TokenSource } from "@managed-identity/core"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { type ConfigError, ConfigProvider, Effect, identity, Layer } from "effect"
import * as NodeManagedIdentity from "../../src/NodeManagedIdentity.js"

/** Every source detection finds, in `SourceKind` order (a federated credential is asked for by name). */
export const allSources: ReadonlyArray<TokenSource.DetectedKind> = TokenSource.DetectedKind.literals

/**
 * Runs `effect` on a host of `kind` that reaches `emulator`: the host's variables (by default `emulator.env(kind)`) as
 * the `ConfigProvider` and, for workload identity and a federated credential, the emulator's STS CA trusted as `NODE_EXTRA_CA_CERTS` makes a
 * fresh process trust it (`ManagedIdentityEmulator.layerTrustingFetch`).
 */
export const onHost =
  (emulator: ManagedIdentityEmulator.Emulator, kind: ManagedIdentityEmulator.SourceKind, env = emulator.env(kind)) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    effect.pipe(
      kind === "WorkloadIdentity" || kind === "FederatedCredential"
        ? Effect.provide(ManagedIdentityEmulator.layerTrustingFetch(emulator))
        : identity,
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
    )

/** The client for `identity` on the Node stack, Azure Arc keys read from the emulator's directory. */
export const clientLayer = (
  emulator: ManagedIdentityEmulator.Emulator,
  identity: ManagedIdentity.Identity = ManagedIdentity.systemAssigned,
  options: NodeManagedIdentity.Options = {}
): Layer.Layer<ManagedIdentityClient.ManagedIdentityClient, ConfigError.ConfigError> =>
  NodeManagedIdentity.layerWithOptions({
    ...options,
    source: { azureArcKeyDirectory: emulator.arcKeyDirectory, ...options.source }
  }).pipe(Layer.provide(ManagedIdentity.layer(identity)))

/** A token for `resource` from the client in context. */
export const getToken = (resource: string) =>
  Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken(resource))
