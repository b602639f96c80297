/**
 * A persistent token cache in a directory: tokens survive restarts and are shared by the processes of one user on
 * one machine.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as TokenCache from "@managed-identity/effect4/TokenCache"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import type { PlatformError } from "effect/PlatformError"
import * as Crypto from "node:crypto"
import * as Path from "node:path"

const entrySuffix = ".token.json"

const isNotFound = (error: PlatformError): boolean => error.reason._tag === "NotFound"

/** A file system failure as the store's error, naming the method and the key. */
const storeError = (method: string, key?: string) => (cause: PlatformError) =>
  new KeyValueStoreError(method, cause, key)

class KeyValueStoreError extends KeyValueStore.KeyValueStoreError {
  constructor(method: string, cause: PlatformError, key?: string) {
    super({ message: cause.message, method, cause, ...(key === undefined ? {} : { key }) })
  }
}

/**
 * A `KeyValueStore` of one file per key in `directory`, named by the SHA-256 of the key. The directory is created
 * if needed and made private (mode 0700); files are written with mode 0600 to a temporary file that is then renamed
 * over the entry, so a reader sees the old entry or the new one, never a torn write.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFileStore = (
  directory: string
): Effect.Effect<KeyValueStore.KeyValueStore, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(directory, { recursive: true, mode: 0o700 })
    yield* fs.chmod(directory, 0o700)
    const fileOf = (key: string) =>
      Path.join(directory, Crypto.createHash("sha256").update(key).digest("hex") + entrySuffix)
    const entries = Effect.map(
      fs.readDirectory(directory),
      (names) => names.filter((name) => name.endsWith(entrySuffix))
    )
    return KeyValueStore.makeStringOnly({
      get: (key) =>
        fs.readFileString(fileOf(key)).pipe(
          Effect.catchIf(isNotFound, () => Effect.undefined),
          Effect.mapError(storeError("get", key))
        ),
      set: (key, value) =>
        Effect.suspend(() => {
          const file = fileOf(key)
          const temporary = `${file}.${Crypto.randomBytes(8).toString("hex")}.tmp`
          return fs.writeFileString(temporary, value, { flag: "wx", mode: 0o600 }).pipe(
            Effect.andThen(fs.rename(temporary, file)),
            Effect.tapError(() => Effect.ignore(fs.remove(temporary))),
            Effect.mapError(storeError("set", key))
          )
        }),
      remove: (key) =>
        fs.remove(fileOf(key)).pipe(
          Effect.catchIf(isNotFound, () => Effect.void),
          Effect.mapError(storeError("remove", key))
        ),
      clear: Effect.flatMap(
        entries,
        Effect.forEach((name) => fs.remove(Path.join(directory, name)), { discard: true })
      ).pipe(Effect.mapError(storeError("clear"))),
      size: Effect.map(entries, (names) => names.length).pipe(Effect.mapError(storeError("size"))),
      // Keys are hashed into file names: the store cannot list them.
      keys: Effect.succeed([])
    })
  })

/**
 * A persistent `TokenCache` in `directory` (see `TokenCache.layerKeyValueStore`): reads are served from memory, a
 * token not in memory is looked up in its file, and every new token is written through. A corrupt file, or one
 * written by another format version, is logged and ignored, and overwritten by the next token; it never fails a
 * caller. The layer fails only if the directory cannot be created. It describes itself as a `Directory` cache, so
 * `ManagedIdentityDiagnosis.diagnose` checks the permissions of the directory and its files.
 *
 * The files hold access tokens in clear text, readable only by this user (0600 in a 0700 directory). **Never share
 * this directory between machines** (a network or synced folder, a container volume mounted by several hosts):
 * tokens are bound to this machine's identity and the directory's permissions are its only protection.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (directory: string): Layer.Layer<TokenCache.TokenCache, PlatformError> =>
  Layer.effect(
    TokenCache.TokenCache,
    Effect.map(TokenCache.makeKeyValueStore, (cache) =>
      TokenCache.TokenCache.of({
        ...cache,
        description: { _tag: "Directory", directory: Path.resolve(directory) }
      }))
  ).pipe(
    Layer.provide(Layer.effect(KeyValueStore.KeyValueStore, makeFileStore(directory))),
    Layer.provide(NodeFileSystem.layer)
  )
