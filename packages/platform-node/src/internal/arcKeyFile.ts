import * as TokenSource from "@managed-identity/core/TokenSource"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"

type Failure = TokenSource.FileReader.Failure

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
 * The Node file reader (Azure Arc's key file, workload identity's token and CA files): the file is opened once with
 * `O_NONBLOCK` (a FIFO cannot stall the open, nor a libuv thread) and, unless `followLinks`, `O_NOFOLLOW` (a symbolic
 * link fails the open with `ELOOP`); `fstat` on the descriptor checks that it is a regular file of at most
 * `maxBytes` (a FIFO, a device such as `/dev/zero` or a directory is refused unread); at most `maxBytes + 1` bytes are
 * read from that descriptor, so a file that grew meanwhile is refused. No check is made on the path and then repeated
 * on the file, so nothing can be swapped in between.
 */
export const read = (
  path: string,
  { followLinks = false, maxBytes }: TokenSource.FileReader.Options
): Effect.Effect<Uint8Array, Failure> =>
  Effect.zipRight(
    followLinks ? Effect.void : refuseLinkWithoutNoFollow(path),
    Effect.acquireUseRelease(
      attempt(() =>
        Fs.promises.open(path, Fs.constants.O_RDONLY | (followLinks ? 0 : noFollow ?? 0) | (nonBlock ?? 0))
      ),
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

/** `TokenSource.FileReader` for Node. */
export const reader: TokenSource.FileReader.Service = TokenSource.FileReader.of({ read })
