/**
 * Which source this host has: each source's rule asked in detection order (`Sources.detectionOrder`), first match
 * wins, with the reasons. Without I/O: when a rule needs a file checked (Azure Arc's agent binary), detection stops
 * and says which; the caller checks it and asks again with the answer.
 *
 * @since 0.1.0
 */
import type * as Source from "./Source.js"
import type { DetectedKind } from "./SourceKind.js"
import { titles } from "./SourceKind.js"
import * as Sources from "./Sources.js"

/**
 * The variables that select a source, in table order, each once: the ones detection reports as seen.
 *
 * @since 0.1.0
 * @category constants
 */
export const variables: ReadonlyArray<string> = [
  ...new Set(Sources.detectionOrder.flatMap((facts) => facts.detectionVariables))
]

/**
 * Every variable detection reads: {@link variables}, and those a rule reads besides (Azure Arc's `ProgramFiles`).
 *
 * @since 0.1.0
 * @category constants
 */
export const variablesRead: ReadonlyArray<string> = [
  ...new Set([...variables, ...Sources.detectionOrder.flatMap((facts) => facts.detectionSettings)])
]

/**
 * The detected source and why. `variablesSeen` holds names only, never values; `reasons` starts with the deciding
 * rule, then says which variables were seen and what else detection noted (a source skipped for a missing variable,
 * each file checked).
 *
 * @since 0.1.0
 * @category models
 */
export interface Detection {
  readonly kind: DetectedKind
  readonly reasons: ReadonlyArray<string>
  readonly variablesSeen: ReadonlyArray<string>
  readonly filesChecked: ReadonlyArray<Source.FileChecked>
}

/**
 * What detection is given: the value of each variable it reads (`undefined` when unset; a set but empty variable
 * counts as unset), whether the identity in use is a `ClientId`, the operating system, and the file check asked for,
 * once made.
 *
 * @since 0.1.0
 * @category models
 */
export interface Input {
  readonly lookup: (name: string) => string | undefined
  readonly clientIdConfigured: boolean
  readonly platform: string
  readonly fileCheck?: Source.FileCheck | undefined
}

/**
 * Detection's next step: done, or a file to check first.
 *
 * @since 0.1.0
 * @category models
 */
export type Step =
  | { readonly _tag: "Detected"; readonly detection: Detection }
  | { readonly _tag: "CheckFile"; readonly path: string }

const isSet = (value: string | undefined): boolean => value !== undefined && value.trim() !== ""

/**
 * Asks each source's rule in detection order. The first that says `Detected` decides; the notes and files of the
 * rules before it are reported too. A rule that needs a file checked stops detection with `CheckFile`: check it and
 * call again with `fileCheck`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const detect = (input: Input): Step => {
  const lookup = (name: string) => {
    const value = input.lookup(name)
    return isSet(value) ? value : undefined
  }
  const variablesSeen = variables.filter((name) => lookup(name) !== undefined)
  const context: Source.DetectionContext = {
    isSet: (...names) => names.every((name) => lookup(name) !== undefined),
    clientIdConfigured: input.clientIdConfigured,
    platform: input.platform,
    lookup,
    fileCheck: input.fileCheck
  }
  const notes: Array<string> = []
  const files: Array<Source.FileChecked> = []
  for (const facts of Sources.detectionOrder) {
    const verdict = facts.detect(context)
    if (verdict._tag === "CheckFile") return verdict
    notes.push(...verdict.notes ?? [])
    files.push(...verdict.files ?? [])
    if (verdict._tag === "Detected") {
      const seen = variablesSeen.length === 0
        ? "no managed identity variable is set"
        : `variables seen: ${variablesSeen.join(", ")}`
      return {
        _tag: "Detected",
        detection: {
          kind: facts.kind,
          reasons: [`${titles[facts.kind]}: ${verdict.reason}`, seen, ...notes],
          variablesSeen,
          filesChecked: files
        }
      }
    }
  }
  throw new Error("no source detected: the last source in detection order must always be detected")
}
