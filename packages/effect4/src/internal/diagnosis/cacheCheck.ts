/**
 * The configured cache, for `ManagedIdentityDiagnosis.diagnose`: the protocol's check, over the modes of a file
 * cache's directory and files read through `FileSystem`.
 */
import * as CacheCheck from "@managed-identity/protocol/CacheCheck"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import type * as TokenCache from "../../TokenCache.js"

/** The modes of `directory` and of each regular file in it, sorted by name. */
const modesOf = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(directory)
    const names = [...(yield* fs.readDirectory(directory))].sort()
    const entries = yield* Effect.forEach(
      names,
      (name) => Effect.map(fs.stat(`${directory.replace(/\/+$/, "")}/${name}`), (file) => ({ name, file }))
    )
    return {
      directory: info.mode,
      files: entries.filter(({ file }) => file.type === "File").map(({ file, name }) => ({ name, mode: file.mode }))
    }
  })

/** The configured cache on `platform`, and for a file cache the modes of its directory and files. */
export const checkCache = (
  description: TokenCache.Description | undefined,
  platform: string
): Effect.Effect<CacheCheck.Result, never, FileSystem.FileSystem> =>
  description?._tag === "Directory" && CacheCheck.needsModes(description, platform)
    ? modesOf(description.directory).pipe(
      Effect.match({
        onFailure: (error) => CacheCheck.check(description, platform, { _tag: "Unread", error: error.message }),
        onSuccess: (modes) => CacheCheck.check(description, platform, { _tag: "Read", modes })
      })
    )
    : Effect.succeed(CacheCheck.check(description, platform))
