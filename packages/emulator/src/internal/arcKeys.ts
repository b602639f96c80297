import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as HashSet from "effect/HashSet"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { randomBytes } from "node:crypto"
import * as Path from "node:path"
import { type EmulatorError, failWith } from "./model.js"

/**
 * The Azure Arc key files: each challenge writes a fresh key into the directory, and a key is good for one request.
 *
 * @internal
 */
export interface ArcKeys {
  readonly directory: string
  /** Writes a fresh key file (mode 0600) and answers its path, the realm of the challenge. */
  readonly challenge: Effect.Effect<string, unknown>
  /** Whether the key is one issued and not used yet; a valid key is used up. */
  readonly redeem: (key: string) => Effect.Effect<boolean>
  /** The key written by the latest challenge. */
  readonly last: Effect.Effect<Option.Option<Redacted.Redacted<string>>>
}

/**
 * Key files in `directory` (created if missing), or in a temporary directory removed when the scope closes; every
 * key file written is removed when the scope closes.
 *
 * @internal
 */
export const make = (
  directory: string | undefined
): Effect.Effect<ArcKeys, EmulatorError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const keyDirectory = directory ?? (yield* fs.makeTempDirectoryScoped({ prefix: "managed-identity-arc-" }).pipe(
      Effect.mapError(failWith("Could not create the Azure Arc key directory"))
    ))
    yield* fs.makeDirectory(keyDirectory, { recursive: true }).pipe(
      Effect.mapError(failWith(`Could not create ${keyDirectory}`))
    )
    const unused = yield* Ref.make(HashSet.empty<string>())
    const last = yield* Ref.make(Option.none<Redacted.Redacted<string>>())
    const files = yield* Ref.make<ReadonlyArray<string>>([])
    yield* Effect.addFinalizer(() =>
      Ref.get(files).pipe(Effect.flatMap(Effect.forEach((file) => Effect.ignore(fs.remove(file)), { discard: true })))
    )
    return {
      directory: keyDirectory,
      challenge: Effect.gen(function*() {
        const key = randomBytes(32).toString("hex")
        const file = Path.join(keyDirectory, `${randomBytes(8).toString("hex")}.key`)
        yield* fs.writeFileString(file, key, { mode: 0o600 })
        yield* Ref.update(files, (written) => [...written, file])
        yield* Ref.update(unused, HashSet.add(key))
        yield* Ref.set(last, Option.some(Redacted.make(key)))
        return file
      }),
      redeem: (key) =>
        Ref.modify(unused, (keys) => HashSet.has(keys, key) ? [true, HashSet.remove(keys, key)] : [false, keys]),
      last: Ref.get(last)
    }
  })
