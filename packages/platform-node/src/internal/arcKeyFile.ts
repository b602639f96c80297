import * as AzureArcTokenSource from "@managed-identity/core/AzureArcTokenSource"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"

type Failure = AzureArcTokenSource.KeyFileReader.Failure

/** Both are missing on Windows. */
const noFollow: number | undefined = Fs.constants.O_NOFOLLOW
const nonBlock: number | undefined = Fs.constants.O_NONBLOCK

const failureOf = (error: unknown): Failure => {
  const code = (error as { readonly code?: unknown } | null)?.code
  switch (code) {
    case "ENOENT":
      return { reason: "NotFound" }
    case "ELOOP":
    case "EMLINK":
      return { reason: "SymbolicLink" }
    default:
      return { reason: "Unreadable", detail: error instanceof Error ? error.message : String(error) }
  }
}

const attempt = <A>(run: () => Promise<A>): Effect.Effect<A, Failure> =>
  Effect.tryPromise({ try: run, catch: failureOf })

/** Where `O_NOFOLLOW` does not exist (Windows), a link is refused by `lstat` first: a check a swap can still race. */
const refuseLinkWithoutNoFollow = (path: string): Effect.Effect<void, Failure> =>
  noFollow === undefined
    ? Effect.filterOrFail(
      attempt(() => Fs.promises.lstat(path)),
      (info) => !info.isSymbolicLink(),
      (): Failure => ({ reason: "SymbolicLink" })
    )
    : Effect.void

/** Reads from `handle` until `limit` bytes or the end of the file. */
const readAtMost = (handle: Fs.promises.FileHandle, limit: number): Effect.Effect<Uint8Array, Failure> =>
  attempt(async () => {
    const buffer = new Uint8Array(limit)
    let total = 0
    while (total < limit) {
      const { bytesRead } = await handle.read(buffer, total, limit - total, total)
      if (bytesRead === 0) break
      total += bytesRead
    }
    return buffer.subarray(0, total)
  })

/**
 * The Node key file reader: the file is opened once with `O_NOFOLLOW` (a symbolic link fails the open with `ELOOP`)
 * and `O_NONBLOCK` (a FIFO cannot stall it); `fstat` on the descriptor checks that it is a regular file of at most
 * `maxBytes`; at most `maxBytes + 1` bytes are read from that descriptor, so a file that grew meanwhile is refused.
 * No check is made on the path and then repeated on the file, so nothing can be swapped in between.
 */
export const read = (path: string, maxBytes: number): Effect.Effect<Uint8Array, Failure> =>
  Effect.zipRight(
    refuseLinkWithoutNoFollow(path),
    Effect.acquireUseRelease(
      attempt(() => Fs.promises.open(path, Fs.constants.O_RDONLY | (noFollow ?? 0) | (nonBlock ?? 0))),
      (handle) =>
        Effect.flatMap(attempt(() => handle.stat()), (info): Effect.Effect<Uint8Array, Failure> => {
          if (!info.isFile()) return Effect.fail({ reason: "NotAFile" })
          if (info.size > maxBytes) return Effect.fail({ reason: "TooLarge" })
          return Effect.filterOrFail(
            readAtMost(handle, maxBytes + 1),
            (bytes) => bytes.length <= maxBytes,
            (): Failure => ({ reason: "TooLarge" })
          )
        }),
      (handle) => Effect.ignore(attempt(() => handle.close()))
    )
  )

/** `AzureArcTokenSource.KeyFileReader` for Node. */
export const reader: AzureArcTokenSource.KeyFileReader.Service = AzureArcTokenSource.KeyFileReader.of({ read })
