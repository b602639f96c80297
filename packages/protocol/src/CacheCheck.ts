/**
 * The configured token cache, as a diagnosis reports it: what it is, and for a file cache whether its directory and
 * files are private (the directory 0700 or stricter, each file 0600 or stricter). The modes are each line's to read.
 *
 * @since 0.1.0
 */
import * as Diagnosis from "./Diagnosis.js"

/**
 * What kind of cache it is: in memory, persisted through a key-value store, or persisted as files in a directory.
 *
 * @since 0.1.0
 * @category models
 */
export type Description =
  | { readonly _tag: "Memory" }
  | { readonly _tag: "KeyValueStore" }
  | { readonly _tag: "Directory"; readonly directory: string }

/**
 * A file cache's permissions: the directory's mode, how many files it holds, and those others may access (modes in
 * octal, `0600`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Permissions {
  readonly directoryMode: string
  readonly files: number
  readonly tooOpen: ReadonlyArray<{ readonly name: string; readonly mode: string }>
}

/**
 * The modes read for a file cache: the directory's, and each regular file's by name.
 *
 * @since 0.1.0
 * @category models
 */
export interface Modes {
  readonly directory: number
  readonly files: ReadonlyArray<{ readonly name: string; readonly mode: number }>
}

/**
 * What the check found: the description (`null`: a cache that does not describe itself), a file cache's permissions,
 * and the finding saying it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Result {
  readonly check: { readonly description: Description | null; readonly permissions: Permissions | null }
  readonly finding: Diagnosis.Finding
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, "0")}`

/** Modes that let the group or others in. */
const isTooOpen = (mode: number): boolean => (mode & 0o077) !== 0

/**
 * Whether the check needs the modes of a file cache's directory and files: on every platform but Windows, which has
 * no such modes.
 *
 * @since 0.1.0
 * @category predicates
 */
export const needsModes = (description: Description | undefined, platform: string): boolean =>
  description?._tag === "Directory" && platform !== "win32"

/**
 * The check of the cache `description` on `platform`; for a file cache that {@link needsModes}, the modes read, or
 * what the platform said when they could not be read.
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (
  description: Description | undefined,
  platform: string,
  modes?: { readonly _tag: "Read"; readonly modes: Modes } | { readonly _tag: "Unread"; readonly error: string }
): Result => {
  if (description === undefined) {
    return {
      check: { description: null, permissions: null },
      finding: Diagnosis.finding("ok", "cache.custom", "a custom TokenCache (it does not describe itself)")
    }
  }
  const plain = (code: Diagnosis.FindingCode, message: string): Result => ({
    check: { description, permissions: null },
    finding: Diagnosis.finding("ok", code, message)
  })
  switch (description._tag) {
    case "Memory":
      return plain("cache.memory", "in-memory cache: tokens last as long as the process")
    case "KeyValueStore":
      return plain(
        "cache.key-value-store",
        "persistent cache through a KeyValueStore (its storage's permissions are not checked)"
      )
    case "Directory": {
      const { directory } = description
      if (platform === "win32") {
        return plain("cache.directory", `file cache in ${directory} (permissions are not checked on Windows)`)
      }
      if (modes === undefined || modes._tag === "Unread") {
        return {
          check: { description, permissions: null },
          finding: Diagnosis.finding(
            "warning",
            "cache.unchecked",
            `file cache in ${directory}: not checked (${modes?.error ?? "its modes were not read"})`
          )
        }
      }
      const { files } = modes.modes
      const permissions: Permissions = {
        directoryMode: octal(modes.modes.directory),
        files: files.length,
        tooOpen: files.filter(({ mode }) => isTooOpen(mode)).map(({ mode, name }) => ({ name, mode: octal(mode) }))
      }
      const problems = [
        ...(isTooOpen(modes.modes.directory)
          ? [`the directory is ${permissions.directoryMode}, open to group or others`]
          : []),
        ...(permissions.tooOpen.length === 0 ? [] : [
          `${permissions.tooOpen.length} of ${files.length} file(s) are open to group or others (${
            permissions.tooOpen.slice(0, 3).map(({ mode, name }) => `${name} ${mode}`).join(", ")
          })`
        ])
      ]
      return {
        check: { description, permissions },
        finding: problems.length === 0
          ? Diagnosis.finding(
            "ok",
            "cache.directory",
            `file cache in ${directory}: directory ${permissions.directoryMode}, ${files.length} file(s), none open to group or others`
          )
          : Diagnosis.finding(
            "error",
            "cache.permissions",
            `file cache in ${directory}: ${problems.join("; ")}: tokens there can be read by other users`
          )
      }
    }
  }
}
