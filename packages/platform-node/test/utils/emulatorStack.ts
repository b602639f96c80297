/**
 * The real Node stack against the real emulator: the process environment a host of `kind` would have, as a
 * `ConfigProvider`, and the client built by `NodeManagedIdentity.layerWithOptions`.
 */
import { ManagedIdentity, ManagedIdentityClient } from "@managed-identity/core"
import { type ConfigError, ConfigProvider, Effect, Layer } from "effect"
import * as ManagedIdentityEmulator from "../../src/ManagedIdentityEmulator.js"
import * as NodeManagedIdentity from "../../src/NodeManagedIdentity.js"

/** Every source the emulator serves, in `SourceKind` order. */
export const allSources: ReadonlyArray<ManagedIdentityEmulator.SourceKind> = ManagedIdentityEmulator.SourceKind.literals

/** Runs `effect` with the variables a host of `kind` would set to reach `emulator`. */
export const onHost =
  (emulator: ManagedIdentityEmulator.Emulator, kind: ManagedIdentityEmulator.SourceKind) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.withConfigProvider(effect, ConfigProvider.fromMap(new Map(Object.entries(emulator.env(kind)))))

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
