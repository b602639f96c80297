/**
 * The `managed-identity` command: `token`, `source`, `doctor`, `emulator` and `demo`, and the exit codes.
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Usage from "@effect/cli/Usage"
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

const program = "managed-identity"

/** The `managed-identity` command with its subcommands. */
const command = Command.make(program).pipe(
  Command.withDescription("Azure managed identity tokens from any Azure host, and an emulator to run off Azure"),
  Command.withSubcommands([token, source, doctor, emulator, demo])
)

/** The usage of each subcommand, by name: what a usage line reads to know which flags take a value. */
const subcommands: Record<string, Usage.Usage> = {
  token: Command.getUsage(token),
  source: Command.getUsage(source),
  doctor: Command.getUsage(doctor),
  emulator: Command.getUsage(emulator),
  demo: Command.getUsage(demo)
}

/** The program and the subcommand the arguments name, e.g. `managed-identity token`, for usage lines. */
const invocation = (args: ReadonlyArray<string>): { readonly name: string; readonly usage: string } => {
  const name = args.find((arg) => Object.hasOwn(subcommands, arg))
  return name === undefined
    ? { name: program, usage: "" }
    : { name: `${program} ${name}`, usage: HelpDoc.toAnsiText(Usage.getHelp(subcommands[name])).replace(ansiStyle, "") }
}

// eslint-disable-next-line no-control-regex
const ansiStyle = /\u001b\[[0-9;]*m/g

/**
 * A flag of the command that takes a value (its usage reads `--client-id text`) given without one: last, or followed
 * by another flag, which the parser would otherwise take as the value (`--client-id --json` asks for the id
 * `--json`).
 */
const flagWithoutValue = (args: ReadonlyArray<string>, usage: string): string | undefined =>
  args.find((arg, index) =>
    /^--[a-z-]+$/.test(arg) && new RegExp(`(^|[\\s[])${arg} [^\\s\\]]`).test(usage) &&
    (args[index + 1] === undefined || args[index + 1].startsWith("--"))
  )

/** What the parser found wrong, in the words of a usage line. */
const parserProblem = (error: ValidationError.ValidationError): string => {
  const text = HelpDoc.toAnsiText(error.error).replace(ansiStyle, "").replace(/\s+/g, " ").trim()
  return text
    .replace(/^Received unknown argument: '(.*)'$/, "unknown flag or argument $1")
    .replace(/^Expected to find option: '(.*)'$/, "$1 is required")
}

const describe = (error: unknown, name: string): string =>
  isManagedIdentityError(error)
    ? `${error._tag}: ${error.message}`
    : error instanceof UsageError
    ? `usage: ${name}: ${error.message}`
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
 * @category running
 */
export const run = (
  argv: ReadonlyArray<string>,
  streams: Terminal.Streams = Terminal.processStreams()
): Effect.Effect<void, never, CliApp.CliApp.Environment> => {
  const args = argv.slice(2)
  const { name, usage } = invocation(args)
  const missing = flagWithoutValue(args, usage)
  const refused = missing === undefined ? Terminal.cannotAsk(argv, streams) : `${missing} needs a value`
  const parsed = refused === undefined
    ? Command.run(command, { name: program, version: "0.1.0" })(argv).pipe(withoutParserOutput)
    : Effect.fail(new UsageError(refused))
  return parsed.pipe(
    Effect.catchAll((error) =>
      ValidationError.isValidationError(error)
        ? Effect.zipRight(
          Console.error(printable(`usage: ${name}: ${parserProblem(error)} (${name} --help shows the usage)`)),
          exitWith(2)
        )
        : Effect.zipRight(
          Console.error(printable(describe(error, name))),
          exitWith(error instanceof UsageError ? 2 : 1)
        )
    ),
    Effect.catchAllDefect((defect) =>
      Effect.zipRight(Console.error(printable(`unexpected error: ${describe(defect, name)}`)), exitWith(1))
    ),
    Terminal.colourWhereWanted(streams)
  )
}

/**
 * Runs the parser and the command with `Console.error` silenced: the parser prints its own words for a bad command
 * line there before failing, and `run` prints one `usage:` line instead. The commands write errors only by failing.
 */
const withoutParserOutput = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.console, (console) => Effect.withConsole(effect, { ...console, error: () => Effect.void }))
