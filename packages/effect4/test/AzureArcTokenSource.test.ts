import { assert, describe, it } from "@effect/vitest"
import {
  AzureArcTokenSource,
  ManagedIdentity,
  ManagedIdentityClient,
  TokenCache,
  TokenSource
} from "@managed-identity/effect4"
import { Cause, type Config, Effect, Exit, Layer, Option, Redacted } from "effect"
import * as FakeFileSystem from "./utils/fakeFileSystem.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const endpoint = "http://localhost:40342/metadata/identity/oauth2/token"
const key = "c2VjcmV0LWtleQ"

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  FakeHttp.json(body, { status, headers })

const challenge = (realm: string) =>
  json(401, { error: "unauthorized" }, { "WWW-Authenticate": `Basic realm=${realm}` })

const tokenBody = (extra: Record<string, string> = {}) => ({
  access_token: "AT",
  expires_in: "3600",
  token_type: "Bearer",
  resource: "https://vault.azure.net",
  ...extra
})

interface Setup {
  /** Answers the request with this index (from 0); default: a challenge, then a token, and again. */
  readonly respond?: ((index: number) => FakeHttp.Reply) | undefined
  readonly identity?: ManagedIdentity.Identity | undefined
  readonly files?: Record<string, FakeFileSystem.FakeFile> | undefined
  readonly layer?: Layer.Layer<TokenSource.TokenSource, Config.ConfigError, SourceHarness.Requirements> | undefined
  readonly options?: AzureArcTokenSource.Options | undefined
  readonly env?: Record<string, string> | undefined
}

/** Runs `effect` over the source and reports what was sent and which files were touched. */
const run = <A, E>(effect: Effect.Effect<A, E, TokenSource.TokenSource>, setup: Setup = {}) =>
  Effect.gen(function*() {
    const respond = setup.respond ??
      ((index) => index % 2 === 0 ? challenge("/var/opt/azcmagent/tokens/abc.key") : json(200, tokenBody()))
    const http = yield* FakeHttp.make((_, index) => respond(index))
    const fileSystem = FakeFileSystem.make(setup.files ?? { "/keys/abc.key": { content: key } })
    const layer = setup.layer ??
      AzureArcTokenSource.layer(setup.options ?? { keyDirectory: "/keys", platform: "linux" })
    const exit = yield* Effect.exit(
      effect.pipe(SourceHarness.provide(layer, { http, fileSystem, identity: setup.identity, env: setup.env }))
    )
    return { exit, sent: yield* http.requests, calls: fileSystem.calls }
  })

const getToken = (resource = "https://vault.azure.net") => SourceHarness.getToken(resource)

/** The file system calls of a key read that opened `path` and checked the opened file. */
const opened = (path: string) => [`readLink ${path}`, `stat ${path}`, `open ${path}`, `fstat ${path}`]

/** The calls of a key read that read `path` to its end (the second read finds the end). */
const readWhole = (path: string) => [...opened(path), `read ${path}`, `read ${path}`]

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert(Exit.isFailure(exit))
  const error = Cause.findErrorOption(exit.cause)
  assert(Option.isSome(error), String(exit.cause))
  return error.value
}

const withoutTracing = (headers: Readonly<Record<string, string>>) =>
  Object.fromEntries(
    Object.entries(headers).filter(([name]) =>
      name !== "b3" && name !== "traceparent" && name !== "x-ms-client-request-id" && name !== "user-agent"
    )
  )

describe("AzureArcTokenSource", () => {
  it.effect("answers the challenge with the key file named by the realm", () =>
    Effect.gen(function*() {
      const { calls, exit, sent } = yield* run(getToken())
      assert(Exit.isSuccess(exit))
      assert.strictEqual(Redacted.value(exit.value.token), "AT")
      const url = `${endpoint}?api-version=2020-06-01&resource=https%3A%2F%2Fvault.azure.net`
      assert.deepStrictEqual(sent.map(({ method, url }) => `${method} ${url}`), [`GET ${url}`, `GET ${url}`])
      assert.deepStrictEqual(withoutTracing(sent[0].headers), { metadata: "true" })
      assert.deepStrictEqual(withoutTracing(sent[1].headers), { metadata: "true", authorization: `Basic ${key}` })
      assert.deepStrictEqual(calls, readWhole("/keys/abc.key"))
    }))

  const userAssigned = [
    { identity: ManagedIdentity.clientId("Client-1"), query: "client_id=Client-1", echo: { client_id: "client-1" } },
    {
      identity: ManagedIdentity.resourceId("/subscriptions/S/rg/id"),
      query: "msi_res_id=%2Fsubscriptions%2FS%2Frg%2Fid",
      echo: { msi_res_id: "/subscriptions/s/rg/id" }
    },
    {
      identity: ManagedIdentity.resourceId("/subscriptions/S/rg/id"),
      query: "msi_res_id=%2Fsubscriptions%2FS%2Frg%2Fid",
      echo: { mi_res_id: "/SUBSCRIPTIONS/S/RG/ID" }
    },
    { identity: ManagedIdentity.objectId("Object-1"), query: "object_id=Object-1", echo: { object_id: "OBJECT-1" } }
  ]
  for (const { echo, identity, query } of userAssigned) {
    it.effect(`selects ${identity._tag} with ${query.split("=")[0]} and accepts the echo ${Object.keys(echo)[0]}`, () =>
      Effect.gen(function*() {
        const { exit, sent } = yield* run(getToken("r"), {
          identity,
          respond: (index) => index === 0 ? challenge("/tmp/abc") : json(200, tokenBody(echo))
        })
        assert(Exit.isSuccess(exit))
        const url = `${endpoint}?api-version=2020-06-01&resource=r&${query}`
        assert.deepStrictEqual(sent.map(({ url }) => url), [url, url])
        assert.deepStrictEqual(withoutTracing(sent[1].headers), { metadata: "true", authorization: `Basic ${key}` })
      }))
  }

  const keyPaths = [
    { realm: "/tmp/foo", path: "/keys/foo.key" },
    { realm: "/a/b/../../etc/passwd.x", path: "/keys/passwd.key" },
    { realm: "..\\..\\secrets\\name.tar.gz", path: "/keys/name.tar.key" },
    { realm: "/tmp/.hidden", path: "/keys/.hidden.key" }
  ]
  for (const { path, realm } of keyPaths) {
    it.effect(`realm ${realm} reads ${path}`, () =>
      Effect.gen(function*() {
        const { calls, exit } = yield* run(getToken(), {
          respond: (index) => index === 0 ? challenge(realm) : json(200, tokenBody()),
          files: { [path]: { content: key } }
        })
        assert(Exit.isSuccess(exit))
        assert.deepStrictEqual(calls, readWhole(path))
      }))
  }

  it.effect("a realm without a file name is a failed challenge", () =>
    Effect.gen(function*() {
      const { calls, exit } = yield* run(getToken(), { respond: () => challenge("/tmp/") })
      assert.strictEqual(failure(exit)._tag, "AzureArcChallengeFailed")
      assert.deepStrictEqual(calls, [])
    }))

  it.effect("uses /var/opt/azcmagent/tokens on Linux", () =>
    Effect.gen(function*() {
      const { calls, exit } = yield* run(getToken(), {
        options: { platform: "linux" },
        respond: (index) => index === 0 ? challenge("/tmp/foo") : json(200, tokenBody()),
        files: { "/var/opt/azcmagent/tokens/foo.key": { content: key } }
      })
      assert(Exit.isSuccess(exit))
      assert.strictEqual(calls[2], "open /var/opt/azcmagent/tokens/foo.key")
    }))

  it.effect("uses %ProgramData%\\AzureConnectedMachineAgent\\Tokens on Windows, ProgramData read by layerConfig", () =>
    Effect.gen(function*() {
      const path = "C:\\ProgramData\\AzureConnectedMachineAgent\\Tokens\\foo.key"
      const { calls, exit, sent } = yield* run(getToken(), {
        layer: AzureArcTokenSource.layerConfig({ platform: "win32" }),
        respond: (index) => index === 0 ? challenge(path) : json(200, tokenBody()),
        files: { [path]: { content: key } },
        env: { ProgramData: "C:\\ProgramData" }
      })
      assert(Exit.isSuccess(exit))
      assert.deepStrictEqual(calls, readWhole(path))
      assert.strictEqual(sent.length, 2)
    }))

  it.effect("layer takes ProgramData as an option and reads no variable itself", () =>
    Effect.gen(function*() {
      const path = "C:\\ProgramData\\AzureConnectedMachineAgent\\Tokens\\foo.key"
      const { calls, exit } = yield* run(getToken(), {
        options: { platform: "win32", programData: "C:\\ProgramData" },
        respond: (index) => index === 0 ? challenge(path) : json(200, tokenBody()),
        files: { [path]: { content: key } },
        env: { ProgramData: "D:\\Elsewhere" }
      })
      assert(Exit.isSuccess(exit))
      assert.deepStrictEqual(calls, readWhole(path))
    }))

  for (
    const { name, options } of [
      { name: "Windows without ProgramData", options: { platform: "win32" } },
      { name: "another platform", options: { platform: "darwin" } },
      { name: "an unknown platform", options: {} }
    ]
  ) {
    it.effect(`fails on ${name} before sending`, () =>
      Effect.gen(function*() {
        const { exit, sent } = yield* run(getToken(), { options })
        assert.strictEqual(failure(exit)._tag, "AzureArcChallengeFailed")
        assert.strictEqual(sent.length, 0)
      }))
  }

  it.effect("a key file of 4096 bytes is accepted", () =>
    Effect.gen(function*() {
      const content = "k".repeat(4096)
      const { exit, sent } = yield* run(getToken(), { files: { "/keys/abc.key": { content } } })
      assert(Exit.isSuccess(exit))
      assert.strictEqual(sent[1].headers.authorization, `Basic ${content}`)
    }))

  const path = "/keys/abc.key"
  const refusedFiles: ReadonlyArray<
    { readonly name: string; readonly file: FakeFileSystem.FakeFile | undefined; readonly calls: Array<string> }
  > = [
    {
      name: "larger than 4096 bytes, before opening it",
      file: { content: "k".repeat(4097) },
      calls: opened(path).slice(0, 2)
    },
    { name: "missing", file: undefined, calls: opened(path).slice(0, 2) },
    { name: "a symbolic link", file: { content: key, symlink: true }, calls: ["readLink /keys/abc.key"] },
    { name: "unreadable", file: { content: key, unreadable: true }, calls: opened(path).slice(0, 2) },
    { name: "a directory, before opening it", file: { type: "Directory", size: 64 }, calls: opened(path).slice(0, 2) },
    { name: "a FIFO, before opening it", file: { type: "FIFO", size: 0 }, calls: opened(path).slice(0, 2) },
    {
      name: "a character device, before opening it",
      file: { type: "CharacterDevice", size: 0 },
      calls: opened(path).slice(0, 2)
    },
    { name: "empty", file: { content: "" }, calls: [...opened(path), `read ${path}`] }
  ]
  for (const { calls: expectedCalls, file, name } of refusedFiles) {
    it.effect(`refuses a key file that is ${name}`, () =>
      Effect.gen(function*() {
        const { calls, exit, sent } = yield* run(getToken(), {
          files: file === undefined ? {} : { "/keys/abc.key": file }
        })
        const error = failure(exit)
        assert.strictEqual(error._tag, "AzureArcChallengeFailed")
        assert.include(error.message, "/keys/abc.key")
        assert.notInclude(error.message, key)
        assert.deepStrictEqual(calls, expectedCalls)
        assert.strictEqual(sent.length, 1)
      }))
  }

  it.effect("a key file that grew past 4096 bytes after fstat said otherwise: refused after reading 4097 bytes", () =>
    Effect.gen(function*() {
      const { calls, exit, sent } = yield* run(getToken(), {
        files: { [path]: { content: "k".repeat(1024 * 1024), size: 16 } }
      })
      const error = failure(exit)
      assert.strictEqual(error._tag, "AzureArcChallengeFailed")
      assert.include(error.message, "larger than 4096 bytes")
      assert.deepStrictEqual(calls, [...opened(path), `read ${path}`])
      assert.strictEqual(sent.length, 1)
    }))

  const unsendableKeys: ReadonlyArray<readonly [string, string]> = [
    ["CR LF", `${key}\r\nX-Injected: 1`],
    ["a trailing LF", `${key}\n`],
    ["NUL", `${key}\u0000`],
    ["a character beyond Latin-1", `${key}\u0100`]
  ]
  for (const [name, content] of unsendableKeys) {
    it.effect(`a key holding ${name}: AzureArcChallengeFailed at once, never sent, never retried`, () =>
      Effect.gen(function*() {
        const { exit, sent } = yield* run(getToken(), { files: { [path]: { content } } })
        const error = failure(exit)
        assert.strictEqual(error._tag, "AzureArcChallengeFailed")
        assert.include(error.message, "a header cannot carry")
        assert.notInclude(JSON.stringify(error), key)
        assert.strictEqual(sent.length, 1, "only the challenge: no request with the key, no retry")
      }))
  }

  it.effect("a FileReader in context reads the key instead of the FileSystem, refusing links, 4096 bytes at most", () =>
    Effect.gen(function*() {
      const asked: Array<string> = []
      const reader = TokenSource.FileReader.of({
        read: (file, options) =>
          Effect.sync(() => {
            asked.push(`${file} ${options.maxBytes} ${options.followLinks ?? false}`)
            return new TextEncoder().encode("platform-key")
          })
      })
      const { calls, exit, sent } = yield* run(getToken(), {
        layer: AzureArcTokenSource.layer({ keyDirectory: "/keys", platform: "linux" }).pipe(
          Layer.provide(Layer.succeed(TokenSource.FileReader, reader))
        )
      })
      assert(Exit.isSuccess(exit))
      assert.deepStrictEqual(asked, ["/keys/abc.key 4096 false"])
      assert.deepStrictEqual(calls, [])
      assert.strictEqual(sent[1].headers.authorization, "Basic platform-key")
    }))

  const badChallenges: ReadonlyArray<{ readonly name: string; readonly headers: Record<string, string> }> = [
    { name: "no WWW-Authenticate header", headers: {} },
    { name: "Basic realm=a=b", headers: { "WWW-Authenticate": "Basic realm=a=b" } },
    { name: "Bearer realm=x", headers: { "WWW-Authenticate": "Bearer realm=x" } },
    { name: "Basic realm (no value)", headers: { "WWW-Authenticate": "Basic realm" } }
  ]
  for (const { headers, name } of badChallenges) {
    it.effect(`a 401 with ${name} is a failed challenge`, () =>
      Effect.gen(function*() {
        const { calls, exit, sent } = yield* run(getToken(), { respond: () => json(401, {}, headers) })
        assert.strictEqual(failure(exit)._tag, "AzureArcChallengeFailed")
        assert.strictEqual(sent.length, 1)
        assert.deepStrictEqual(calls, [])
      }))
  }

  it.effect("accepts the challenge scheme and header name in any case", () =>
    Effect.gen(function*() {
      const { exit, sent } = yield* run(getToken(), {
        respond: (index) =>
          index === 0 ? json(401, {}, { "www-authenticate": "BASIC REALM=/tmp/abc.key" }) : json(200, tokenBody())
      })
      assert(Exit.isSuccess(exit))
      assert.strictEqual(sent.length, 2)
    }))

  it.effect("a first answer that is an error status is a TokenRequestFailed with the endpoint's description", () =>
    Effect.gen(function*() {
      const { calls, exit, sent } = yield* run(getToken(), {
        respond: () => json(400, { error: "invalid_request", error_description: "Invalid resource" })
      })
      const error = failure(exit)
      assert(error._tag === "TokenRequestFailed")
      assert.strictEqual(error.status, 400)
      assert.strictEqual(error.error, "invalid_request")
      assert.strictEqual(error.description, "Invalid resource")
      assert.strictEqual(sent.length, 1)
      assert.deepStrictEqual(calls, [])
    }))

  it.effect("a first answer that is a success is refused, and its body is not echoed", () =>
    Effect.gen(function*() {
      const { calls, exit, sent } = yield* run(getToken(), { respond: () => json(200, tokenBody()) })
      const error = failure(exit)
      assert(error._tag === "TokenRequestFailed")
      assert.strictEqual(error.status, 200)
      assert.notInclude(JSON.stringify(error), "AT\"")
      assert.strictEqual(sent.length, 1)
      assert.deepStrictEqual(calls, [])
    }))

  it.effect("a failed second request surfaces the endpoint's error", () =>
    Effect.gen(function*() {
      const { exit, sent } = yield* run(getToken(), {
        respond: (index) =>
          index === 0 ? challenge("/tmp/abc") : json(401, { error: "invalid_client", error_description: "bad key" })
      })
      const error = failure(exit)
      assert(error._tag === "TokenRequestFailed")
      assert.strictEqual(error.status, 401)
      assert.strictEqual(error.description, "bad key")
      assert.notInclude(JSON.stringify(error), key)
      assert.strictEqual(sent.length, 2)
    }))

  it.effect("retries the whole two-step exchange as one attempt", () =>
    Effect.gen(function*() {
      const statuses = [401, 503, 401, 200]
      const { calls, exit, sent } = yield* run(getToken().pipe(SourceHarness.advancing("10 seconds")), {
        respond: (index) => statuses[index] === 401 ? challenge("/tmp/abc") : json(statuses[index], tokenBody())
      })
      assert(Exit.isSuccess(exit))
      assert.strictEqual(Redacted.value(exit.value.token), "AT")
      assert.deepStrictEqual(sent.map(({ headers }) => headers.authorization), [
        undefined,
        `Basic ${key}`,
        undefined,
        `Basic ${key}`
      ])
      assert.strictEqual(calls.filter((call) => call.startsWith("open")).length, 2)
    }))

  it.effect("refuses to send the key to a non-loopback endpoint", () =>
    Effect.gen(function*() {
      const { exit, sent } = yield* run(getToken(), {
        options: { keyDirectory: "/keys", endpoint: "http://10.1.2.3:40342/metadata/identity/oauth2/token" }
      })
      assert.strictEqual(failure(exit)._tag, "InvalidIdentity")
      assert.strictEqual(sent.length, 0)
    }))

  for (
    const { echo, name } of [
      { name: "missing", echo: {} },
      { name: "different", echo: { client_id: "client-2" } },
      { name: "another selector", echo: { object_id: "client-1" } }
    ]
  ) {
    it.effect(`a user-assigned echo that is ${name} is IdentityNotConfirmed and nothing is cached`, () =>
      Effect.gen(function*() {
        const { exit, sent } = yield* run(
          Effect.gen(function*() {
            const client = yield* ManagedIdentityClient.ManagedIdentityClient
            const first = yield* Effect.flip(client.getToken("https://vault.azure.net"))
            assert(first._tag === "IdentityNotConfirmed")
            assert.strictEqual(first.expected, "client_id=client-1")
            assert.strictEqual(first.received, "client_id" in echo ? "client_id=client-2" : undefined)
            const second = yield* Effect.flip(client.getToken("https://vault.azure.net"))
            assert.strictEqual(second._tag, "IdentityNotConfirmed")
          }).pipe(Effect.provide(ManagedIdentityClient.layer.pipe(Layer.provide(TokenCache.layerMemory)))),
          {
            identity: ManagedIdentity.clientId("client-1"),
            respond: (index) => index % 2 === 0 ? challenge("/tmp/abc") : json(200, tokenBody(echo))
          }
        )
        assert(Exit.isSuccess(exit), String(exit))
        assert.strictEqual(sent.length, 4)
      }))
  }

  for (
    const { env, keyDirectory, name, url } of [
      {
        name: "reads IDENTITY_ENDPOINT",
        keyDirectory: "/keys/",
        env: { IDENTITY_ENDPOINT: "http://127.0.0.1:9999/token" },
        url: "http://127.0.0.1:9999/token?api-version=2020-06-01&resource=r"
      },
      {
        name: "defaults to the agent's endpoint",
        keyDirectory: "/keys",
        env: { IDENTITY_ENDPOINT: "" },
        url: `${endpoint}?api-version=2020-06-01&resource=r`
      }
    ]
  ) {
    it.effect(`layerConfig ${name}`, () =>
      Effect.gen(function*() {
        const { sent } = yield* run(getToken("r"), {
          layer: AzureArcTokenSource.layerConfig({ keyDirectory }),
          respond: (index) => index === 0 ? challenge("/tmp/abc") : json(200, tokenBody()),
          env
        })
        assert.strictEqual(sent[0].url, url)
      }))
  }
})
