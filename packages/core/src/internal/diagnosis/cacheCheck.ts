/**
 * The configured cache, for `ManagedIdentitySource.diagnose`: what it is, and for a file cache whether its directory
 * and files are private.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as TokenCache from "../../TokenCache.js"
import { type CacheCheck, type Finding, finding, type FindingCode, type Permissions } from "./model.js"

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, "0")}`

/** Modes that let the group or others in. */
const isTooOpen = (mode: number): boolean => (mode & 0o077) !== 0

/**
 * The configured cache, and for a file cache the modes of its directory and files (through `FileSystem`; not on
 * Windows, which has no such modes): the directory must be 0700 or stricter, each file 0600 or stricter.
 */
export const checkCache = (
  description: Option.Option<TokenCache.Description>,
  platform: string
): Effect.Effect<{ readonly check: CacheCheck; readonly finding: Finding }, never, FileSystem.FileSystem> => {
  if (Option.isNone(description)) {
    return Effect.succeed({
      check: { description: null, permissions: null },
      finding: finding("ok", "cache.custom", "a custom TokenCache (it does not describe itself)")
    })
  }
  const cache = description.value
  const plain = (code: FindingCode, message: string) =>
    Effect.succeed({ check: { description: cache, permissions: null }, finding: finding("ok", code, message) })
  switch (cache._tag) {
    case "Memory":
      return plain("cache.memory", "in-memory cache: tokens last as long as the process")
    case "KeyValueStore":
      return plain(
        "cache.key-value-store",
        "persistent cache through a KeyValueStore (its storage's permissions are not checked)"
      )
    case "Directory": {
      const { directory } = cache
      if (platform === "win32") {
        return plain("cache.directory", `file cache in ${directory} (permissions are not checked on Windows)`)
      }
      return Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const info = yield* fs.stat(directory)
        const names = [...(yield* fs.readDirectory(directory))].sort()
        const files = yield* Effect.forEach(
          names,
          (name) => Effect.map(fs.stat(`${directory.replace(/\/+$/, "")}/${name}`), (file) => ({ name, file }))
        )
        const entries = files.filter(({ file }) => file.type === "File")
        const permissions: Permissions = {
          directoryMode: octal(info.mode),
          files: entries.length,
          tooOpen: entries.filter(({ file }) => isTooOpen(file.mode)).map(({ file, name }) => ({
            name,
            mode: octal(file.mode)
          }))
        }
        const problems = [
          ...(isTooOpen(info.mode) ? [`the directory is ${permissions.directoryMode}, open to group or others`] : []),
          ...(permissions.tooOpen.length === 0 ? [] : [
            `${permissions.tooOpen.length} of ${entries.length} file(s) are open to group or others (${
              permissions.tooOpen.slice(0, 3).map(({ mode, name }) => `${name} ${mode}`).join(", ")
            })`
          ])
        ]
        return {
          check: { description: cache, permissions },
          finding: problems.length === 0
            ? finding(
              "ok",
              "cache.directory",
              `file cache in ${directory}: directory ${permissions.directoryMode}, ${entries.length} file(s), none open to group or others`
            )
            : finding(
              "error",
              "cache.permissions",
              `file cache in ${directory}: ${problems.join("; ")}: tokens there can be read by other users`
            )
        }
      }).pipe(
        Effect.catchAll((error) =>
          Effect.succeed({
            check: { description: cache, permissions: null },
            finding: finding("warning", "cache.unchecked", `file cache in ${directory}: not checked (${error.message})`)
          })
        )
      )
    }
  }
}
