/**
 * What the CLI does differently on a terminal: colour only on a terminal and without `NO_COLOR`, and questions only
 * where someone can answer them.
 */
import * as Console from "effect/Console"
import type * as Effect from "effect/Effect"

/** A stream the CLI writes to or reads from: whether it is a terminal. */
interface Stream {
  readonly isTTY?: boolean | undefined
}

/** The process's streams and environment, as far as colour and questions depend on them. */
export interface Streams {
  readonly stdin: Stream
  readonly stdout: Stream
  readonly stderr: Stream
  /** `NO_COLOR`: when set to anything but the empty string, no colour (no-color.org). */
  readonly noColor: string | undefined
}

/** The running process's streams and `NO_COLOR`. */
export const processStreams = (): Streams => ({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  noColor: process.env.NO_COLOR
})

/** Whether text written to `stream` may carry ANSI colour: it is a terminal, and `NO_COLOR` is unset or empty. */
const colourTo = (stream: Stream, streams: Streams): boolean =>
  stream.isTTY === true && (streams.noColor === undefined || streams.noColor === "")

/** The SGR sequences (`ESC [ … m`) with which the help pages and usage errors are coloured. */
const colour = new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;]*m`, "g")

const uncoloured = (args: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  args.map((arg) => typeof arg === "string" ? arg.replace(colour, "") : arg)

/** `console` with the colour taken out of what goes to stdout (`log`, `info`, `debug`) and stderr (`error`, `warn`). */
const withoutColour = (console: Console.Console, stdout: boolean, stderr: boolean): Console.Console => {
  const out = (args: ReadonlyArray<unknown>) => stdout ? uncoloured(args) : args
  const err = (args: ReadonlyArray<unknown>) => stderr ? uncoloured(args) : args
  return {
    ...console,
    log: (...args) => console.log(...out(args)),
    info: (...args) => console.info(...out(args)),
    debug: (...args) => console.debug(...out(args)),
    error: (...args) => console.error(...err(args)),
    warn: (...args) => console.warn(...err(args)),
    unsafe: {
      ...console.unsafe,
      log: (...args) => console.unsafe.log(...out(args)),
      info: (...args) => console.unsafe.info(...out(args)),
      debug: (...args) => console.unsafe.debug(...out(args)),
      error: (...args) => console.unsafe.error(...err(args)),
      warn: (...args) => console.unsafe.warn(...err(args))
    }
  }
}

/**
 * Runs `effect` with colour (the help pages' and usage errors' ANSI sequences) only on the streams that are terminals
 * when `NO_COLOR` is not set: everything written through `Console` to another stream loses it.
 *
 * @category running
 */
export const colourWhereWanted =
  (streams: Streams) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    const stdout = !colourTo(streams.stdout, streams)
    const stderr = !colourTo(streams.stderr, streams)
    return stdout || stderr
      ? Console.consoleWith((console) => Console.withConsole(effect, withoutColour(console, stdout, stderr)))
      : effect
  }

/**
 * Why `argv` cannot run here, if it asks for `--wizard` (which draws its questions on stdout and reads the answers
 * from stdin) and stdin or stdout is not a terminal: no one could answer, and the prompt would wait forever.
 *
 * @category running
 */
export const cannotAsk = (argv: ReadonlyArray<string>, streams: Streams): string | undefined =>
  argv.slice(2).includes("--wizard") && (streams.stdin.isTTY !== true || streams.stdout.isTTY !== true)
    ? "--wizard asks its questions on a terminal, and stdin or stdout is not one: give the flags instead"
    : undefined
