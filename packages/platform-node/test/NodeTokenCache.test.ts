import { assert, describe, it } from "@effect/vitest"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import type * as TokenSource from "@managed-identity/core/TokenSource"
import * as RecordingSource from "@managed-identity/test-utils/RecordingSource"
import { Effect, Layer, Logger, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as NodeTokenCache from "../src/NodeTokenCache.js"
import { getToken } from "./utils/emulatorStack.js"

const resource = "https://vault.azure.net"

const tempDirectory = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "mi-cache-")), "tokens")

/** One "process": a client over a file cache in `directory`, built afresh. */
const getTokenInProcess = (directory: string, source: Layer.Layer<TokenSource.TokenSource>) =>
  getToken(resource).pipe(
    Effect.provide(
      ManagedIdentityClient.layer.pipe(Layer.provide(source), Layer.provide(NodeTokenCache.layerFile(directory)))
    )
  )

const entries = (directory: string) => Fs.readdirSync(directory).filter((name) => name.endsWith(".token.json"))

describe("NodeTokenCache.layerFile", () => {
  it.effect("a second process over the same directory gets a cache hit; 0700 directory, 0600 files", () =>
    Effect.gen(function*() {
      const directory = tempDirectory()
      const { layer: source, requests } = RecordingSource.make()
      const first = yield* getTokenInProcess(directory, source)
      assert.strictEqual(first.source, "identity_provider")
      const second = yield* getTokenInProcess(directory, source)
      assert.strictEqual(second.source, "cache")
      assert.strictEqual(Redacted.value(second.token), "token-1")
      assert.strictEqual(requests.length, 1)
      assert.strictEqual(Fs.statSync(directory).mode & 0o777, 0o700)
      const files = Fs.readdirSync(directory)
      assert.strictEqual(files.length, 1)
      assert.match(files[0], /^[0-9a-f]{64}\.token\.json$/)
      assert.strictEqual(Fs.statSync(Path.join(directory, files[0])).mode & 0o777, 0o600)
      assert.strictEqual(JSON.parse(Fs.readFileSync(Path.join(directory, files[0]), "utf8")).version, 1)
    }))

  it.effect("makes an existing directory private", () =>
    Effect.gen(function*() {
      const directory = tempDirectory()
      Fs.mkdirSync(directory, { mode: 0o755 })
      Fs.chmodSync(directory, 0o755)
      yield* getTokenInProcess(directory, RecordingSource.make().layer)
      assert.strictEqual(Fs.statSync(directory).mode & 0o777, 0o700)
    }))

  it.effect("ignores and logs a corrupt or foreign-version file, then rewrites it", () =>
    Effect.gen(function*() {
      const warnings: Array<unknown> = []
      const logger = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ logLevel, message }) => {
          if (logLevel.label === "WARN") warnings.push(message)
        })
      )
      const directory = tempDirectory()
      const { layer: source, requests } = RecordingSource.make()
      yield* getTokenInProcess(directory, source)
      const file = Path.join(directory, entries(directory)[0])
      const good = JSON.parse(Fs.readFileSync(file, "utf8"))
      for (const corrupt of ["\u0000garbage{", JSON.stringify({ ...good, version: 99 })]) {
        Fs.writeFileSync(file, corrupt)
        const token = yield* Effect.provide(getTokenInProcess(directory, source), logger)
        assert.strictEqual(token.source, "identity_provider")
        const rewritten = JSON.parse(Fs.readFileSync(file, "utf8"))
        assert.strictEqual(rewritten.version, 1)
        assert.strictEqual(rewritten.token.token, Redacted.value(token.token))
      }
      assert.strictEqual(requests.length, 3)
      assert.deepStrictEqual(warnings, [["ignoring an unreadable persisted token"], [
        "ignoring an unreadable persisted token"
      ]])
      assert.strictEqual((yield* getTokenInProcess(directory, source)).source, "cache")
      assert.strictEqual(requests.length, 3)
    }))

  it.effect("a file of 20 000-deep JSON or of random bytes is ignored and rewritten: no crash, and it does not outlive a restart", () =>
    Effect.gen(function*() {
      const deep = "[".repeat(20_000) + "]".repeat(20_000)
      const corrupt: ReadonlyArray<string | Uint8Array> = [
        deep,
        `{"version":1,"token":${deep}}`,
        Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)
      ]
      const directory = tempDirectory()
      const { layer: source, requests } = RecordingSource.make()
      yield* getTokenInProcess(directory, source)
      const file = Path.join(directory, entries(directory)[0])
      for (const content of corrupt) {
        Fs.writeFileSync(file, content)
        const exit = yield* Effect.exit(getTokenInProcess(directory, source))
        assert(exit._tag === "Success", String(exit))
        assert.strictEqual(exit.value.source, "identity_provider")
        assert.strictEqual(JSON.parse(Fs.readFileSync(file, "utf8")).token.token, Redacted.value(exit.value.token))
        assert.strictEqual((yield* getTokenInProcess(directory, source)).source, "cache", "the next process hits")
      }
      assert.strictEqual(requests.length, 1 + corrupt.length)
    }))

  it.effect("a crash between the temporary write and the rename leaves the old file readable", () =>
    Effect.gen(function*() {
      const directory = tempDirectory()
      const { layer: source, requests } = RecordingSource.make()
      yield* getTokenInProcess(directory, source)
      const file = Path.join(directory, entries(directory)[0])
      Fs.writeFileSync(`${file}.0123456789abcdef.tmp`, `{"version":1,"token":{"tok`, { mode: 0o600 })
      const token = yield* getTokenInProcess(directory, source)
      assert.strictEqual(token.source, "cache")
      assert.strictEqual(Redacted.value(token.token), "token-1")
      assert.strictEqual(requests.length, 1)
    }))
})
