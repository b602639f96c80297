/** Pieces for fake `FileSystem` layers (`FileSystem.layerNoop({...})`): the errors and stat answers a real one gives. */
import { Error as PlatformError, FileSystem } from "@effect/platform"
import { Option } from "effect"

/** The `SystemError` a `FileSystem` method fails with. */
export const systemError = (method: string, path: string, reason: "NotFound" | "PermissionDenied" | "InvalidData") =>
  new PlatformError.SystemError({ reason, module: "FileSystem", method, pathOrDescriptor: path })

/** `stat`'s answer for an entry of `type` and `size` bytes, mode 0600, nothing else known. */
export const fileInfo = (size: number, type: FileSystem.File.Type = "File"): FileSystem.File.Info => ({
  type,
  mtime: Option.none(),
  atime: Option.none(),
  birthtime: Option.none(),
  dev: 0,
  ino: Option.none(),
  mode: 0o600,
  nlink: Option.none(),
  uid: Option.none(),
  gid: Option.none(),
  rdev: Option.none(),
  size: FileSystem.Size(size),
  blksize: Option.none(),
  blocks: Option.none()
})
