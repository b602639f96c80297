/**
 * Reading a file the host names (Azure Arc's key file, workload identity's token and CA files) without trusting it:
 * only a regular file is read, and never more than a bound, so a FIFO, a device such as `/dev/zero`, a directory or a
 * huge file is a typed refusal instead of a stalled thread or gigabytes of memory.
 */
import type { Failure, Options } from "@managed-identity/protocol/FileRead"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import type { PlatformError } from "effect/PlatformError"

/** A bounded read: the content of the regular file at `path`, or why it was not read. */
export type Read = (path: string, options: Options) => Effect.Effect<Uint8Array, Failure>

const fail = (reason: Failure["reason"]): Effect.Effect<never, Failure> => Effect.fail({ reason })

const concat = (chunks: ReadonlyArray<Uint8Array>, total: number): Uint8Array => {
  const all = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    all.set(chunk, offset)
    offset += chunk.length
  }
  return all
}

/** Reads at most `limit` bytes from the current position of `file`, fewer at its end. */
const readAtMost = (file: FileSystem.File, limit: number): Effect.Effect<Uint8Array, PlatformError> => {
  const chunks: Array<Uint8Array> = []
  let total = 0
  const next: Effect.Effect<Uint8Array, PlatformError> = Effect.suspend(() =>
    total >= limit ? Effect.sync(() => concat(chunks, total)) : Effect.flatMap(
      file.readAlloc(limit - total),
      (read) => {
        if (Option.isNone(read) || read.value.length === 0) return Effect.sync(() => concat(chunks, total))
        chunks.push(read.value)
        total += read.value.length
        return next
      }
    )
  )
  return next
}

const unreadable = (error: PlatformError): Failure =>
  error.reason._tag === "NotFound"
    ? { reason: "NotFound" }
    : { reason: "Unreadable", detail: error.message }

/** A regular file of at most `maxBytes` bytes, as `stat` describes it. */
const checkInfo = (info: FileSystem.File.Info, maxBytes: number): Effect.Effect<void, Failure> =>
  info.type !== "File" ? fail("NotAFile") : info.size > BigInt(maxBytes) ? fail("TooLarge") : Effect.void

/**
 * The read over `FileSystem`, as far as its interface allows: without `followLinks` a path that is a symbolic link is
 * refused; the path must then name a regular file of at most `maxBytes` (so a FIFO is never opened: opening one
 * blocks until a writer comes); the file is opened once, checked again on the opened file, and at most
 * `maxBytes + 1` bytes are read from it, so a file that grew meanwhile is refused. `FileSystem.open` can neither
 * refuse a link nor open without blocking, so a path swapped in between the checks and the open is still opened: a
 * platform reader closes that gap (`O_NOFOLLOW`, `O_NONBLOCK`, `fstat`).
 */
export const fromFileSystem = (fs: FileSystem.FileSystem): Read => (path, { followLinks = false, maxBytes }) => {
  const notALink = followLinks ? Effect.void : fs.readLink(path).pipe(
    Effect.matchEffect({ onSuccess: () => fail("SymbolicLink"), onFailure: () => Effect.void })
  )
  return notALink.pipe(
    Effect.andThen(Effect.flatMap(Effect.mapError(fs.stat(path), unreadable), (info) => checkInfo(info, maxBytes))),
    Effect.andThen(Effect.scoped(Effect.gen(function*() {
      const file = yield* Effect.mapError(fs.open(path, { flag: "r" }), unreadable)
      yield* Effect.flatMap(Effect.mapError(file.stat, unreadable), (info) => checkInfo(info, maxBytes))
      const bytes = yield* Effect.mapError(readAtMost(file, maxBytes + 1), unreadable)
      return bytes.length > maxBytes ? yield* fail("TooLarge") : bytes
    })))
  )
}
