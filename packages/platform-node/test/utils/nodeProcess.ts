/** Node child processes whose environment is exactly the variables given (plus `PATH`), as on a real host. */
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"

/** How a process ended. */
export interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** `env` and `PATH`, nothing else from this process's environment. */
export const childEnv = (env: Record<string, string>): Record<string, string> => ({
  PATH: process.env.PATH ?? "",
  ...env
})

/** Runs `<binary> <args>` to the end (killed after `timeout` ms, or when interrupted). */
export const run = (
  binary: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  options: { readonly cwd?: string; readonly timeout?: number } = {}
): Effect.Effect<Outcome> =>
  Effect.async<Outcome>((resume) => {
    const child = ChildProcess.execFile(
      binary,
      args,
      {
        env: childEnv(env),
        timeout: options.timeout ?? 15_000,
        ...(options.cwd === undefined ? {} : { cwd: options.cwd })
      },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }))
    )
    return Effect.sync(() => child.kill())
  })

/** Runs `node <args>` (this Node) to the end (killed after `timeout` ms, or when interrupted). */
export const runNode = (
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  options: { readonly cwd?: string; readonly timeout?: number } = {}
): Effect.Effect<Outcome> => run(process.execPath, args, env, options)
