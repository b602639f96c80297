import * as TokenSource from "@managed-identity/effect4/TokenSource"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"

type Failure = TokenSource.FileReader.Failure

/** Both are missing on Windows. */
const noFollow: number | undefined = Fs.constants.O_NOFOLLOW
const nonBlock: number | undefined = Fs.constants.O_NONBLOCK

const failureOf = (error: unknown): Failure => {
  switch ((error as { readonly code?: unknown } | null)?.code) {
    case "ENOENT":
      return { reason: "NotFound" }
    case "ELOOP":
    case "EMLINK":
      return { reason: "SymbolicLink" }
    default:
      return { reason: "Unreadable", detail: error instanceof Error ? error.message : String(error) }
  }
}

/** Thrown inside {@link readBounded} for the refusals that are not I/O errors. */
class Refused {
  constructor(readonly failure: Failure) {}
}

/**
 * The whole read as one Promise: opened once with `O_NONBLOCK` (a FIFO cannot stall the open, nor a libuv thread)
 * and, unless `followLinks`, `O_NOFOLLOW` (or an `lstat` first where it does not exist); `fstat` on the descriptor
 * checks for a regular file of at most `maxBytes`; at most `maxBytes + 1` bytes are read from that descriptor, so a
 * file that grew meanwhile is refused.
 */
const readBounded = async (path: string, followLinks: boolean, maxBytes: number): Promise<Uint8Array> => {
  if (!followLinks && noFollow === undefined && (await Fs.promises.lstat(path)).isSymbolicLink()) {
    throw new Refused({ reason: "SymbolicLink" })
  }
  const handle = await Fs.promises.open(
    path,
    Fs.constants.O_RDONLY | (followLinks ? 0 : noFollow ?? 0) | (nonBlock ?? 0)
  )
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw new Refused({ reason: "NotAFile" })
    if (info.size > maxBytes) throw new Refused({ reason: "TooLarge" })
    const buffer = new Uint8Array(maxBytes + 1)
    let total = 0
    while (total < buffer.length) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, total)
      if (bytesRead === 0) break
      total += bytesRead
    }
    if (total > maxBytes) throw new Refused({ reason: "TooLarge" })
    return buffer.subarray(0, total)
  } finally {
    await handle.close().catch(() => undefined)
  }
}

/**
 * The Node file reader (Azure Arc's key file, workload identity's token and CA files): nothing is checked on the path
 * and then repeated on the file, so nothing can be swapped in between.
 */
export const read = (
  path: string,
  { followLinks = false, maxBytes }: TokenSource.FileReader.Options
): Effect.Effect<Uint8Array, Failure> =>
  Effect.tryPromise({
    try: () => readBounded(path, followLinks, maxBytes),
    catch: (error) => error instanceof Refused ? error.failure : failureOf(error)
  })

/** `TokenSource.FileReader` for Node. */
export const reader: TokenSource.FileReader.Service = TokenSource.FileReader.of({ read })
