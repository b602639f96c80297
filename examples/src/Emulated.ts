/**
 * Runs an example as if it were on an Azure host: the managed identity emulator starts on 127.0.0.1 and the
 * program sees exactly the variables that host would set (through `Config`, nothing touches `process.env`).
 */
import { NodeRuntime } from "@effect/platform-node"
import { ManagedIdentityEmulator } from "@managed-identity/platform-node"
import { ConfigProvider, Effect } from "effect"

export const runOnEmulator = <E>(
  kind: ManagedIdentityEmulator.SourceKind,
  program: Effect.Effect<void, E>,
  extraEnv: Record<string, string> = {}
): void =>
  NodeRuntime.runMain(
    Effect.scoped(
      Effect.flatMap(ManagedIdentityEmulator.start(), (emulator) =>
        program.pipe(
          Effect.withConfigProvider(
            ConfigProvider.fromMap(new Map(Object.entries({ ...emulator.env(kind), ...extraEnv })))
          )
        ))
    )
  )
