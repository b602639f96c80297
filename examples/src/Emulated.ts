/**
 * Runs an example as if it were on an Azure host: the managed identity emulator starts on 127.0.0.1 and the
 * program sees exactly the variables that host would set, through `Config`. They are also copied into
 * `process.env`, so code that builds its own runtime (and so reads the real environment) reaches the emulator too,
 * never a real Azure endpoint.
 */
import { NodeRuntime } from "@effect/platform-node"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { ConfigProvider, Effect } from "effect"

export const runOnEmulator = <E>(
  kind: ManagedIdentityEmulator.SourceKind,
  program: Effect.Effect<void, E>,
  extraEnv: Record<string, string> = {}
): void =>
  NodeRuntime.runMain(
    Effect.scoped(
      Effect.flatMap(ManagedIdentityEmulator.start(), (emulator) => {
        Object.assign(process.env, emulator.env(kind), extraEnv)
        return program.pipe(
          Effect.withConfigProvider(
            ConfigProvider.fromMap(new Map(Object.entries({ ...emulator.env(kind), ...extraEnv })))
          )
        )
      })
    )
  )
