/**
 * A recording fake `FileSystem` (`FileSystem.layerNoop` underneath) over a table of files, and the errors and stat
 * answers a real one gives. Every call is recorded as `"<method> <path>"`, and so is each use of a file it opened
 * (`"fstat <path>"`, `"read <path>"`).
 */
import type { Layer } from "effect"
import { ByteSize, Effect, FileSystem, Option, PlatformError } from "effect"

/** The `SystemError` a `FileSystem` method fails with. */
export const systemError = (method: string, path: string, reason: "NotFound" | "PermissionDenied" | "InvalidData") =>
  PlatformError.systemError({ _tag: reason, module: "FileSystem", method, pathOrDescriptor: path })

/** `stat`'s answer for an entry of `type` and `size` bytes, mode 0600, nothing else known. */
export const fileInfo = (size: number, type: FileSystem.File.Type = "File"): FileSystem.File.Info => ({
  type,
  mtime: Option.none(),
  atime: Option.none(),
  birthtime: Option.none(),
  dev: 0n,
  ino: Option.none(),
  mode: 0o600,
  nlink: Option.none(),
  uid: Option.none(),
  gid: Option.none(),
  rdev: Option.none(),
  size: ByteSize.bytes(size),
  blksize: Option.none(),
  blocks: Option.none()
})

/** One entry of the fake. */
export interface FakeFile {
  readonly content?: string | undefined
  /** The size `stat` reports (default: the content's length). */
  readonly size?: number | undefined
  readonly type?: FileSystem.File.Type | undefined
  /** `readLink` succeeds: the entry is a symbolic link. */
  readonly symlink?: boolean | undefined
  /** `stat`, `exists`, `readFile` and `open` fail with `PermissionDenied`. */
  readonly unreadable?: boolean | undefined
}

/** The fake's layer, the calls made so far and how many bytes reads of opened files returned. */
export interface FakeFileSystem {
  readonly calls: ReadonlyArray<string>
  readonly bytesRead: () => number
  readonly layer: Layer.Layer<FileSystem.FileSystem>
}

/** An open file: `stat` answers for the entry, `readAlloc` reads its content from the current position. */
const openFile = (
  path: string,
  file: FakeFile,
  calls: Array<string>,
  read: (bytes: number) => void
): FileSystem.File => {
  const content = new TextEncoder().encode(file.content ?? "")
  let position = 0
  const unsupported = Effect.die(new Error(`the fake file ${path} supports stat and readAlloc only`))
  return {
    [FileSystem.FileTypeId]: FileSystem.FileTypeId,
    stat: Effect.sync(() => {
      calls.push(`fstat ${path}`)
      return fileInfo(file.size ?? content.length, file.type ?? "File")
    }),
    readAlloc: (size) =>
      Effect.sync(() => {
        calls.push(`read ${path}`)
        const chunk = content.subarray(position, position + Number(size))
        position += chunk.length
        read(chunk.length)
        return chunk.length === 0 ? Option.none() : Option.some(chunk)
      }),
    seek: () => unsupported,
    sync: unsupported,
    read: () => unsupported,
    truncate: () => unsupported,
    write: () => unsupported,
    writeAll: () => unsupported
  }
}

/** A file system holding exactly `files` (by path); change the record to change the files. */
export const make = (files: Readonly<Record<string, FakeFile>> = {}): FakeFileSystem => {
  const calls: Array<string> = []
  let bytesRead = 0
  const call = <A, E>(method: string, path: string, answer: (file: FakeFile | undefined) => Effect.Effect<A, E>) =>
    Effect.suspend(() => {
      calls.push(`${method} ${path}`)
      return answer(files[path])
    })
  const layer = FileSystem.layerNoop({
    exists: (path) =>
      call("exists", path, (file) =>
        file?.unreadable === true
          ? Effect.fail(systemError("exists", path, "PermissionDenied"))
          : Effect.succeed(file !== undefined)),
    readLink: (path) =>
      call("readLink", path, (file) =>
        file?.symlink === true
          ? Effect.succeed("/etc/shadow")
          : Effect.fail(systemError("readLink", path, file === undefined ? "NotFound" : "InvalidData"))),
    stat: (path) =>
      call("stat", path, (file) => {
        if (file === undefined) return Effect.fail(systemError("stat", path, "NotFound"))
        if (file.unreadable === true) return Effect.fail(systemError("stat", path, "PermissionDenied"))
        return Effect.succeed(fileInfo(file.size ?? (file.content ?? "").length, file.type ?? "File"))
      }),
    readFile: (path) =>
      call("readFile", path, (file) => {
        if (file === undefined) return Effect.fail(systemError("readFile", path, "NotFound"))
        if (file.unreadable === true) return Effect.fail(systemError("readFile", path, "PermissionDenied"))
        return Effect.succeed(new TextEncoder().encode(file.content ?? ""))
      }),
    open: (path) =>
      call("open", path, (file) => {
        if (file === undefined) return Effect.fail(systemError("open", path, "NotFound"))
        if (file.unreadable === true) return Effect.fail(systemError("open", path, "PermissionDenied"))
        return Effect.succeed(openFile(path, file, calls, (bytes) => {
          bytesRead += bytes
        }))
      })
  })
  return { calls, bytesRead: () => bytesRead, layer }
}
