/**
 * What every source states about itself, so that detection, diagnosis and retries read it from the source's own
 * module: its variables, how it is detected, where it sends, how it retries, what it can do.
 *
 * @since 0.1.0
 */
import type { RetryClass } from "./Retry.js"
import type { SourceKind } from "./SourceKind.js"

/**
 * What a variable holds, which says how diagnosis may show it: a URL (scheme, host, port and path), a file's path,
 * a secret (only that it is set), or any other value (only that it is set).
 *
 * @since 0.1.0
 * @category models
 */
export type Role = "url" | "path" | "secret" | "value"

/**
 * @since 0.1.0
 * @category models
 */
export interface Variable {
  readonly name: string
  readonly role: Role
}

/**
 * A file detection looked for: its path, and whether it exists.
 *
 * @since 0.1.0
 * @category models
 */
export interface FileChecked {
  readonly path: string
  readonly exists: boolean
}

/**
 * What a line found when asked to check a file: whether it exists, or why that could not be said.
 *
 * @since 0.1.0
 * @category models
 */
export type FileCheck =
  | { readonly _tag: "Exists"; readonly path: string; readonly exists: boolean }
  | { readonly _tag: "Unknown"; readonly path: string; readonly error: string }

/**
 * What detection knows when it asks a source: which variables are set (a set but empty one counts as unset),
 * whether the identity in use is a `ClientId`, the operating system (as Node's `process.platform` names it), and the
 * result of the file check a source asked for, once made.
 *
 * @since 0.1.0
 * @category models
 */
export interface DetectionContext {
  readonly isSet: (...names: ReadonlyArray<string>) => boolean
  readonly clientIdConfigured: boolean
  readonly platform: string
  readonly lookup: (name: string) => string | undefined
  readonly fileCheck: FileCheck | undefined
}

/**
 * A source's answer to detection: it is the one (with the reason, and notes and files to report), it is not (with
 * notes and files to report all the same), or it cannot tell without the file at `path` being checked.
 *
 * @since 0.1.0
 * @category models
 */
export type Verdict =
  | {
    readonly _tag: "Detected"
    readonly reason: string
    readonly notes?: ReadonlyArray<string> | undefined
    readonly files?: ReadonlyArray<FileChecked> | undefined
  }
  | {
    readonly _tag: "Passed"
    readonly notes?: ReadonlyArray<string> | undefined
    readonly files?: ReadonlyArray<FileChecked> | undefined
  }
  | { readonly _tag: "CheckFile"; readonly path: string }

/**
 * What a source can do beyond a plain token request: revoke the token it replaces (`token_sha256_to_refresh`), take
 * client capabilities (`xms_cc`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Capabilities {
  readonly tokenRevocation: boolean
  readonly clientCapabilities: boolean
}

/**
 * No capabilities beyond a plain token request.
 *
 * @since 0.1.0
 * @category constants
 */
export const noCapabilities: Capabilities = { tokenRevocation: false, clientCapabilities: false }

/**
 * A source's facts.
 *
 * - `variables`: every variable it reads, with its role, in the order diagnosis lists them
 * - `detectionVariables`: the variables that select it (detection reports which of them are set)
 * - `detectionSettings`: other variables its detection rule reads (Azure Arc's `ProgramFiles`), never reported
 * - `presentWhen`: diagnosis lists the source, when another one is detected, if all of these are set
 * - `detect`: its detection rule, asked in `Sources.detectionOrder` until one says `Detected`
 * - `endpoint`: the URL it sends to, from the variables (identity bindings on or off), if they make one
 * - `retry`: its retry class; `capabilities`: what it can do
 *
 * @since 0.1.0
 * @category models
 */
export interface Facts<K extends SourceKind = SourceKind> {
  readonly kind: K
  readonly variables: ReadonlyArray<Variable>
  readonly detectionVariables: ReadonlyArray<string>
  readonly detectionSettings: ReadonlyArray<string>
  readonly presentWhen: ReadonlyArray<string>
  readonly detect: (context: DetectionContext) => Verdict
  readonly endpoint: (lookup: (name: string) => string | undefined, identityBindings: boolean) => string | undefined
  readonly retry: RetryClass
  readonly capabilities: Capabilities
}

/**
 * A source's facts from what is particular to it: `detect` is its rule, or the reason it is detected when all its
 * `detectionVariables` are set; `presentWhen` defaults to `detectionVariables`, `detectionSettings` to none,
 * `capabilities` to {@link noCapabilities}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <K extends SourceKind>(
  facts: Omit<Facts<K>, "detect" | "detectionSettings" | "presentWhen" | "capabilities"> & {
    readonly detect: string | ((context: DetectionContext) => Verdict)
    readonly detectionSettings?: ReadonlyArray<string> | undefined
    readonly presentWhen?: ReadonlyArray<string> | undefined
    readonly capabilities?: Capabilities | undefined
  }
): Facts<K> => {
  const { detect, detectionVariables } = facts
  return {
    ...facts,
    detect: typeof detect === "string"
      ? (context) => context.isSet(...detectionVariables) ? { _tag: "Detected", reason: detect } : { _tag: "Passed" }
      : detect,
    detectionSettings: facts.detectionSettings ?? [],
    presentWhen: facts.presentWhen ?? detectionVariables,
    capabilities: facts.capabilities ?? noCapabilities
  }
}
