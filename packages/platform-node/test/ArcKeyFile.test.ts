/**
 * The Azure Arc key file reader that `NodeManagedIdentity.layerPlatform` provides, on a real directory: what it
 * refuses, and that a file swapped under it in a tight loop (a symbolic link to an outside file, a 1 MiB file) is
 * never read through (issue 11, defect 3: 456 of 3 000 reads sent an outside file's content before).
 */
import { assert, describe, it } from "@effect/vitest"
import { TokenSource } from "@managed-identity/core"
import { Effect, Either } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as NodeManagedIdentity from "../src/NodeManagedIdentity.js"

/** PROTOCOL.md: an Azure Arc key file larger than 4096 bytes is refused (4096 itself is fine). */
const maxBytes = 4096
const key = "the-real-arc-key"
const outside = "OUTSIDE-FILE-CONTENT"

/** A fresh directory for the scope, removed when it closes. */
const directory = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "managed-identity-arc-test-"))),
  (path) => Effect.sync(() => Fs.rmSync(path, { recursive: true, force: true }))
)

/** The reader `layerPlatform` provides. */
const nodeReader = Effect.provide(TokenSource.FileReader, NodeManagedIdentity.layerPlatform)

const reasonOf = (result: Either.Either<Uint8Array, TokenSource.FileReader.Failure>) =>
  Either.match(result, { onLeft: (failure) => failure.reason, onRight: (bytes) => new TextDecoder().decode(bytes) })

/**
 * A child process that, until it is killed, swaps `abc.key` between the real key, a symbolic link to a file outside
 * and a 1 MiB file, each by an atomic rename; it prints once it has swapped a few hundred times.
 */
const swapping = (dir: string) =>
  Effect.acquireRelease(
    Effect.async<ChildProcess.ChildProcess>((resume) => {
      const script = `
        const fs = require("node:fs"), path = require("node:path")
        const [dir, key] = process.argv.slice(1)
        const target = path.join(dir, "abc.key"), link = path.join(dir, "link.tmp"), file = path.join(dir, "file.tmp")
        const big = path.join(dir, "big.tmp"), huge = Buffer.alloc(1024 * 1024, 107)
        for (let n = 0; ; n++) {
          try { fs.unlinkSync(link) } catch {}
          fs.symlinkSync(path.join(dir, "..", path.basename(dir) + "-outside"), link)
          fs.renameSync(link, target)
          fs.writeFileSync(file, key)
          fs.renameSync(file, target)
          if (n % 4 === 0) { fs.writeFileSync(big, huge); fs.renameSync(big, target) }
          if (n === 300) process.stdout.write("swapping\\n")
        }`
      const child = ChildProcess.spawn(process.execPath, ["-e", script, dir, key], {
        stdio: ["ignore", "pipe", "inherit"]
      })
      child.stdout.once("data", () => resume(Effect.succeed(child)))
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

describe("Azure Arc key file reader (NodeManagedIdentity.layerPlatform)", () => {
  it.scopedLive("reads a regular file of up to 4096 bytes and refuses everything else, typed", () =>
    Effect.gen(function*() {
      const dir = yield* directory
      const path = (name: string) => Path.join(dir, name)
      Fs.writeFileSync(path("ok.key"), key)
      Fs.writeFileSync(path("exact.key"), "k".repeat(maxBytes))
      Fs.writeFileSync(path("big.key"), "k".repeat(maxBytes + 1))
      Fs.writeFileSync(path("outside"), outside)
      Fs.symlinkSync(path("outside"), path("link.key"))
      Fs.mkdirSync(path("dir.key"))
      ChildProcess.execFileSync("mkfifo", [path("fifo.key")])
      const reader = yield* nodeReader
      const read = (name: string) => Effect.map(Effect.either(reader.read(path(name), { maxBytes })), reasonOf)
      assert.deepStrictEqual(
        yield* Effect.all([
          read("ok.key"),
          Effect.map(read("exact.key"), (text) => text.length),
          read("big.key"),
          read("link.key"),
          read("dir.key"),
          read("fifo.key"),
          read("missing.key")
        ]),
        [key, maxBytes, "TooLarge", "SymbolicLink", "NotAFile", "NotAFile", "NotFound"]
      )
    }))

  it.scopedLive("a key file swapped in a tight loop: 0 of 3000 reads return an outside file or more than 4096 bytes", () =>
    Effect.gen(function*() {
      const dir = yield* directory
      Fs.writeFileSync(`${dir}-outside`, outside)
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(`${dir}-outside`, { force: true })))
      Fs.writeFileSync(Path.join(dir, "abc.key"), key)
      yield* swapping(dir)
      const reader = yield* nodeReader
      const outcomes = new Map<string, number>()
      for (let n = 0; n < 3000; n++) {
        const outcome = reasonOf(yield* Effect.either(reader.read(Path.join(dir, "abc.key"), { maxBytes })))
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
      }
      assert.strictEqual(outcomes.get(outside) ?? 0, 0, `outside content read: ${JSON.stringify([...outcomes])}`)
      assert.deepStrictEqual(
        [...outcomes.keys()].filter((outcome) => ![key, "SymbolicLink", "TooLarge", "NotFound"].includes(outcome)),
        [],
        "every read is the key or a typed refusal"
      )
      assert.isAbove(outcomes.get(key) ?? 0, 0, "the loop let some reads through")
      assert.isAbove(outcomes.get("SymbolicLink") ?? 0, 0, "the race was exercised")
    }))
})
