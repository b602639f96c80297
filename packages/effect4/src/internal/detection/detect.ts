/**
 * Which managed identity source this host has (`ManagedIdentitySource.detect`): the protocol's detection over the
 * variables read through `Config`, and the Azure Arc agent binary checked through `FileSystem` when it asks.
 */
import * as Detection from "@managed-identity/protocol/Detection"
import type * as Source from "@managed-identity/protocol/Source"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as ManagedIdentity from "../../ManagedIdentity.js"
import * as Environment from "../source/environment.js"

/** The operating system (public as `ManagedIdentitySource.HostPlatform`). */
export class HostPlatform
  extends Context.Service<HostPlatform, string>()("@managed-identity/effect4/ManagedIdentitySource/HostPlatform")
{}

/** The values of `names` read through `Config` (a set but empty variable counts as unset). */
export const readVariables = (
  names: ReadonlyArray<string>
): Effect.Effect<(name: string) => string | undefined, Config.ConfigError> =>
  Effect.map(
    Effect.forEach(names, (name) => Effect.map(Environment.optional(name), (value) => [name, value] as const)),
    (entries) => {
      const values = new Map(entries)
      return (name) => Option.getOrUndefined(values.get(name) ?? Option.none())
    }
  )

const checkFile = (fs: FileSystem.FileSystem, path: string): Effect.Effect<Source.FileCheck> =>
  Effect.match(fs.exists(path), {
    onFailure: (error): Source.FileCheck => ({ _tag: "Unknown", path, error: error.message }),
    onSuccess: (exists): Source.FileCheck => ({ _tag: "Exists", path, exists })
  })

/**
 * Detects the source from the environment (through `Config`) and, when a rule asks, a file (through `FileSystem`),
 * on `platform`. A `ManagedIdentity` in context, if any, counts as workload identity's client id when it is a
 * `ClientId`.
 */
export const detect = (
  platform: string
): Effect.Effect<Detection.Detection, Config.ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const lookup = yield* readVariables(Detection.variablesRead)
    const configured = yield* Effect.serviceOption(ManagedIdentity.ManagedIdentity)
    const input: Detection.Input = {
      lookup,
      clientIdConfigured: Option.exists(configured, (identity) => identity._tag === "ClientId"),
      platform
    }
    const first = Detection.detect(input)
    const step = first._tag === "CheckFile"
      ? Detection.detect({ ...input, fileCheck: yield* checkFile(yield* FileSystem.FileSystem, first.path) })
      : first
    return step._tag === "Detected"
      ? step.detection
      : yield* Effect.die(`detection asked for a second file check (${step.path})`)
  })
