/**
 * Workload identity's token file and identity bindings' CA file on real files, through the Node stack and the
 * emulator (issue 17, item 3): whatever kind of file a variable names — regular, a link to one (kubelet's layout), a
 * FIFO, a device such as `/dev/zero`, a directory, a huge file — and whatever bytes it holds, `getToken` ends in a
 * token or a typed error naming the variable, opens nothing that blocks (file reads and DNS lookups elsewhere in the
 * process keep working), and never reads more than the bound.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ManagedIdentityError } from "@managed-identity/core/ManagedIdentityError"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { Cause, type ConfigError, Effect, Exit, FastCheck as fc, Option } from "effect"
import * as Dns from "node:dns"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { directory, isReadable, kinds, make, refusal, tokenOn, validContent, variables } from "./utils/fileKinds.js"

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
          if (isReadable(kind)) {
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
