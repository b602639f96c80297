/**
 * What the `managed-identity` commands share: the usage error and the common flags.
 */
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"

/**
 * A usage error found after parsing (conflicting flags); exits 2 like the parser's own.
 *
 * @category errors
 */
export class UsageError {
  readonly _tag = "UsageError"
  constructor(readonly message: string) {}
}

/**
 * `--json`: print JSON instead of text.
 *
 * @category flags
 */
export const json = Options.boolean("json").pipe(Options.withDescription("Print JSON instead of text"))

/**
 * `--arc-key-directory <directory>`, described by each command.
 *
 * @category flags
 */
export const arcKeyDirectory = Options.text("arc-key-directory").pipe(
  Options.withPseudoName("directory"),
  Options.optional
)

/**
 * `--identity-bindings`, described by each command.
 *
 * @category flags
 */
export const identityBindings = Options.boolean("identity-bindings")

/**
 * An optional text flag with its description.
 *
 * @category flags
 */
export const optionalText = (name: string, description: string) =>
  Options.text(name).pipe(Options.withDescription(description), Options.optional)

/**
 * Sets the process exit code (the command still ends normally).
 *
 * @category running
 */
export const exitWith = (code: number): Effect.Effect<void> =>
  Effect.sync(() => {
    process.exitCode = code
  })
