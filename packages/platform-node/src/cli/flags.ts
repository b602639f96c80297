/**
 * What the `managed-identity` commands share: the usage error and the common flags.
 *
 * @since 0.1.0
 */
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"

/**
 * A usage error found after parsing (conflicting flags); exits 2 like the parser's own.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError {
  readonly _tag = "UsageError"
  constructor(readonly message: string) {}
}

/**
 * `--json`: print JSON instead of text.
 *
 * @since 0.1.0
 * @category flags
 */
export const json = Options.boolean("json").pipe(Options.withDescription("Print JSON instead of text"))

/**
 * `--arc-key-directory <directory>`, described by each command.
 *
 * @since 0.1.0
 * @category flags
 */
export const arcKeyDirectory = Options.text("arc-key-directory").pipe(
  Options.withPseudoName("directory"),
  Options.optional
)

/**
 * `--identity-bindings`, described by each command.
 *
 * @since 0.1.0
 * @category flags
 */
export const identityBindings = Options.boolean("identity-bindings")

/**
 * An optional text flag with its description.
 *
 * @since 0.1.0
 * @category flags
 */
export const optionalText = (name: string, description: string) =>
  Options.text(name).pipe(Options.withDescription(description), Options.optional)

/**
 * Sets the process exit code (the command still ends normally).
 *
 * @since 0.1.0
 * @category running
 */
export const exitWith = (code: number): Effect.Effect<void> =>
  Effect.sync(() => {
    process.exitCode = code
  })
