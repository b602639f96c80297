/**
 * Reading a file a host names (Azure Arc's key file, workload identity's token and CA files) without trusting it: why
 * a read was refused, in words that name the file, never its content. The reading itself is each line's.
 *
 * @since 0.1.0
 */

/**
 * Why a file was not read. `detail` is what the platform said about a file that cannot be read, never its content.
 *
 * @since 0.1.0
 * @category models
 */
export interface Failure {
  readonly reason: "NotFound" | "SymbolicLink" | "NotAFile" | "TooLarge" | "Unreadable"
  readonly detail?: string | undefined
}

/**
 * What a read is allowed: at most `maxBytes` bytes, and a symbolic link at the path only with `followLinks`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly maxBytes: number
  /** Default `false`: a symbolic link at the path is refused. */
  readonly followLinks?: boolean | undefined
}

/**
 * What a refusal says about the file, after its path: "does not exist", "is not a regular file", …
 *
 * @since 0.1.0
 * @category formatting
 */
export const describe = (failure: Failure, maxBytes: number): string => {
  switch (failure.reason) {
    case "NotFound":
      return "does not exist"
    case "SymbolicLink":
      return "is a symbolic link"
    case "NotAFile":
      return "is not a regular file (a FIFO, a device or a directory is never read)"
    case "TooLarge":
      return `is larger than ${maxBytes} bytes`
    case "Unreadable":
      return `cannot be read${failure.detail === undefined ? "" : ` (${failure.detail})`}`
  }
}
