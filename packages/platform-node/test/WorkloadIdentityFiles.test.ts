/**
 * Workload identity's token file and identity bindings' CA file on real files, through the Node stack and the
 * emulator (issue 17, item 3): whatever kind of file a variable names — regular, a link to one (kubelet's layout), a
 * FIFO, a device such as `/dev/zero`, a directory, a huge file — and whatever bytes it holds, `getToken` ends in a
 * token or a typed error naming the variable, opens nothing that blocks (file reads and DNS lookups elsewhere in the
 * process keep working), and never reads more than the bound.
 */
import { assert, describe, it } from "@effect/vitest"
import { ManagedIdentity, ManagedIdentityClient } from "@managed-identity/core"
import type { ManagedIdentityError } from "@managed-identity/core/ManagedIdentityError"
import { Cause, type ConfigError, Effect, Exit, FastCheck as fc, Option, Redacted, Schedule } from "effect"
import * as ChildProcess from "node:child_process"
import * as Dns from "node:dns"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as ManagedIdentityEmulator from "../src/ManagedIdentityEmulator.js"
import { clientLayer, onHost } from "./utils/emulatorStack.js"

const vault = "https://vault.azure.net"

/** A fresh directory for the scope, removed when it closes. */
const directory = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "managed-identity-files-"))),
  (path) => Effect.sync(() => Fs.rmSync(path, { recursive: true, force: true }))
)

/** The kinds of file a variable may name, each made at `path` (`content` for the regular ones). */
type Kind =
  | "regular"
  | "link to a regular file"
  | "FIFO"
  | "link to a FIFO"
  | "/dev/zero"
  | "link to /dev/zero"
  | "directory"
  | "1 GiB (sparse)"
  | "empty"
  | "missing"

const kinds: ReadonlyArray<Kind> = [
  "regular",
  "link to a regular file",
  "FIFO",
  "link to a FIFO",
  "/dev/zero",
  "link to /dev/zero",
  "directory",
  "1 GiB (sparse)",
  "empty",
  "missing"
]

/** Makes `kind` at `path`; returns the path the variable names (for /dev/zero, the device itself). */
const make = (kind: Kind, path: string, content: Uint8Array): string => {
  switch (kind) {
    case "regular":
      Fs.writeFileSync(path, content)
      return path
    case "link to a regular file":
      Fs.mkdirSync(`${path}.data`)
      Fs.writeFileSync(Path.join(`${path}.data`, "file"), content)
      Fs.symlinkSync(Path.join(`${path}.data`, "file"), path)
      return path
    case "FIFO":
      ChildProcess.execFileSync("mkfifo", [path])
      return path
    case "link to a FIFO":
      ChildProcess.execFileSync("mkfifo", [`${path}.fifo`])
      Fs.symlinkSync(`${path}.fifo`, path)
      return path
    case "/dev/zero":
      return "/dev/zero"
    case "link to /dev/zero":
      Fs.symlinkSync("/dev/zero", path)
      return path
    case "directory":
      Fs.mkdirSync(path)
      return path
    case "1 GiB (sparse)":
      Fs.writeFileSync(path, "")
      Fs.truncateSync(path, 2 ** 30)
      return path
    case "empty":
      Fs.writeFileSync(path, "")
      return path
    case "missing":
      return path
  }
}

/** What the reader says about a kind it refuses, after the variable and the path. */
const refusal: Record<Exclude<Kind, "regular" | "link to a regular file">, RegExp> = {
  "FIFO": /is not a regular file/,
  "link to a FIFO": /is not a regular file/,
  "/dev/zero": /is not a regular file/,
  "link to /dev/zero": /is not a regular file/,
  "directory": /is not a regular file/,
  "1 GiB (sparse)": /is larger than \d+ bytes/,
  "empty": /is empty/,
  "missing": /does not exist/
}

type Variable = "AZURE_FEDERATED_TOKEN_FILE" | "AZURE_KUBERNETES_CA_FILE"

/** The host's variables with `variable` naming `path` (the CA file only with identity bindings). */
const hostEnv = (emulator: ManagedIdentityEmulator.Emulator, variable: Variable, path: string) => ({
  ...emulator.env("WorkloadIdentity", { identityBindings: variable === "AZURE_KUBERNETES_CA_FILE" }),
  [variable]: path
})

/** One `getToken` on that host, through the Node stack, with a few fast retries (a refusal is never retried). */
const tokenOn = (emulator: ManagedIdentityEmulator.Emulator, variable: Variable, path: string) =>
  Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken(vault)).pipe(
    Effect.provide(
      clientLayer(emulator, ManagedIdentity.systemAssigned, {
        source: {
          identityBindings: variable === "AZURE_KUBERNETES_CA_FILE",
          retrySchedule: Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(3)))
        }
      })
    ),
    onHost(emulator, "WorkloadIdentity", hostEnv(emulator, variable, path)),
    Effect.exit
  )

/** The content a regular file of `variable` needs for a token: the emulator's assertion, or the proxy's CA. */
const validContent = (emulator: ManagedIdentityEmulator.Emulator, variable: Variable) =>
  Effect.map(
    emulator.workloadIdentity.federatedToken,
    (token) =>
      new TextEncoder().encode(
        variable === "AZURE_FEDERATED_TOKEN_FILE" ? Redacted.value(token) : emulator.workloadIdentity.proxyCaCertificate
      )
  )

/** A token, the error's tag, or the defect. */
const outcomeOf = (exit: Exit.Exit<unknown, ManagedIdentityError | ConfigError.ConfigError>): string =>
  Exit.match(exit, {
    onSuccess: () => "token",
    onFailure: (cause) =>
      Option.match(Cause.failureOption(cause), { onNone: () => Cause.pretty(cause), onSome: (error) => error._tag })
  })

/** A process-wide check that no libuv thread is stuck: a file read and a DNS lookup still complete. */
const threadPoolResponsive = Effect.promise(() =>
  Promise.all([Fs.promises.readFile(import.meta.filename), Dns.promises.lookup("localhost")])
)

/**
 * Samples the memory held in `ArrayBuffer`s (where file contents land) every millisecond for the scope; `peak` is the
 * most seen above what was held when sampling started. Reading `/dev/zero` without a bound adds gigabytes there.
 */
const arrayBufferGrowth = Effect.acquireRelease(
  Effect.sync(() => {
    const start = process.memoryUsage().arrayBuffers
    let peak = 0
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - start)
    }, 1)
    return { timer, peak: () => peak }
  }),
  ({ timer }) => Effect.sync(() => clearInterval(timer))
)

const variables: ReadonlyArray<Variable> = ["AZURE_FEDERATED_TOKEN_FILE", "AZURE_KUBERNETES_CA_FILE"]

describe("workload identity's files on the Node stack (issue 17, item 3)", () => {
  for (const variable of variables) {
    for (const kind of kinds) {
      it.scopedLive(`${variable} is ${kind}`, () =>
        Effect.gen(function*() {
          const emulator = yield* ManagedIdentityEmulator.start()
          const dir = yield* directory
          const path = make(kind, Path.join(dir, "file"), yield* validContent(emulator, variable))
          const exit = yield* tokenOn(emulator, variable, path)
          yield* threadPoolResponsive
          if (kind === "regular" || kind === "link to a regular file") {
            assert(Exit.isSuccess(exit), String(exit))
            return
          }
          assert(Exit.isFailure(exit))
          const error = Option.getOrThrow(Cause.failureOption(exit.cause))
          assert(error._tag === "SourceUnavailable", error.message)
          assert.include(error.reason, `${variable} ${path}`)
          assert.match(error.reason, refusal[kind])
          assert.strictEqual(yield* emulator.requestCount("WorkloadIdentity"), 0, "nothing was sent")
        }))
    }
  }

  it.scopedLive(
    "property: any bytes in any kind of file end in a token or a typed error, the memory bounded",
    () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const dir = yield* directory
        const growth = yield* arrayBufferGrowth
        let n = 0
        const outcomes = new Set<string>()
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(
              fc.constantFrom(...variables),
              fc.constantFrom(...kinds),
              fc.oneof(
                fc.uint8Array({ maxLength: 2048 }),
                fc.uint8Array({ minLength: 65_000, maxLength: 70_000 }),
                fc.string({ unit: "binary", maxLength: 256 }).map((text) => new TextEncoder().encode(text))
              ),
              async (variable, kind, content) => {
                const path = make(kind, Path.join(dir, `case-${n++}`), content)
                const outcome = outcomeOf(await Effect.runPromise(tokenOn(emulator, variable, path)))
                assert.include(["token", "SourceUnavailable", "TokenRequestFailed", "InvalidIdentity"], outcome)
                outcomes.add(outcome)
              }
            ),
            { numRuns: 60 }
          )
        )
        yield* threadPoolResponsive
        assert.isTrue(outcomes.has("SourceUnavailable"), [...outcomes].join(", "))
        assert.isBelow(growth.peak(), 16 * 2 ** 20, "no read held 16 MiB or more")
      }),
    60_000
  )

  it.scopedLive("a FIFO token file, retried: every attempt refuses it at once, no libuv thread is left blocked", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const dir = yield* directory
      const path = make("FIFO", Path.join(dir, "token"), new Uint8Array())
      for (let call = 0; call < 8; call++) {
        const exit = yield* tokenOn(emulator, "AZURE_FEDERATED_TOKEN_FILE", path)
        assert.strictEqual(outcomeOf(exit), "SourceUnavailable")
      }
      yield* threadPoolResponsive
    }))
})
