/**
 * The `managed-identity` command: `token`, `source`, `doctor`, `emulator` and `demo`, and the exit codes.
 *
 * @since 0.1.0
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import { isManagedIdentityError, printable } from "@managed-identity/core/ManagedIdentityError"
import * as ConfigError from "effect/ConfigError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { demo } from "./demo.js"
import { doctor } from "./doctor.js"
import { emulator } from "./emulator.js"
import { exitWith, UsageError } from "./flags.js"
import * as Terminal from "./terminal.js"
import { source, token } from "./token.js"

/** The `managed-identity` command with its subcommands. */
const command = Command.make("managed-identity").pipe(
  Command.withDescription("Azure managed identity tokens from any Azure host, and an emulator to run off Azure"),
  Command.withSubcommands([token, source, doctor, emulator, demo])
)

const describe = (error: unknown): string =>
  isManagedIdentityError(error)
    ? `${error._tag}: ${error.message}`
    : error instanceof UsageError
    ? `usage: ${error.message}`
    : ConfigError.isConfigError(error)
    ? `ConfigError: ${String(error)}`
    : typeof error === "object" && error !== null && "_tag" in error
    ? `${String(error._tag)}: ${String((error as { message?: unknown }).message ?? "")}`
    : String(error)

/**
 * Runs the CLI on `argv` and sets the process exit code: 0 success, 1 token error (its tag and message on
 * stderr, made `printable`), 2 usage error. Colour only goes to the `streams` that are terminals, and none with
 * `NO_COLOR`; `--wizard` is a usage error when stdin is not a terminal.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  argv: ReadonlyArray<string>,
  streams: Terminal.Streams = Terminal.processStreams()
): Effect.Effect<void, never, CliApp.CliApp.Environment> => {
  const refused = Terminal.cannotAsk(argv, streams)
  return (refused === undefined
    ? Command.run(command, { name: "managed-identity", version: "0.1.0" })(argv)
    : Effect.fail(new UsageError(refused))).pipe(
      Effect.catchAll((error) =>
        Effect.zipRight(
          ValidationError.isValidationError(error) ? Effect.void : Console.error(printable(describe(error))),
          exitWith(ValidationError.isValidationError(error) || error instanceof UsageError ? 2 : 1)
        )
      ),
      Effect.catchAllDefect((defect) =>
        Effect.zipRight(Console.error(printable(`unexpected error: ${describe(defect)}`)), exitWith(1))
      ),
      Terminal.colourWhereWanted(streams)
    )
}
