import { FileSystem, HttpClient, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import {
  AzureArcTokenSource,
  ManagedIdentity,
  ManagedIdentityClient,
  TokenCache,
  TokenSource
} from "@managed-identity/core"
import { ConfigProvider, Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import { fileInfo, systemError } from "./utils/fakeFileSystem.js"

const endpoint = "http://localhost:40342/metadata/identity/oauth2/token"
const key = "c2VjcmV0LWtleQ"

interface Sent {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
}

interface FakeFile {
  readonly content?: string | undefined
  readonly size?: number | undefined
  readonly type?: FileSystem.File.Type | undefined
  readonly symlink?: boolean | undefined
  readonly unreadable?: boolean | undefined
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

const challenge = (realm: string) =>
  json(401, { error: "unauthorized" }, { "WWW-Authenticate": `Basic realm=${realm}` })

const tokenBody = (extra: Record<string, string> = {}) => ({
  access_token: "AT",
  expires_in: "3600",
  token_type: "Bearer",
  resource: "https://vault.azure.net",
  ...extra
})

const fakeFileSystem = (files: Record<string, FakeFile>) => {
  const calls: Array<string> = []
  const layer = FileSystem.layerNoop({
    readLink: (path) =>
      Effect.suspend(() => {
        calls.push(`readLink ${path}`)
        return files[path]?.symlink === true
          ? Effect.succeed("/etc/shadow")
          : Effect.fail(systemError("readLink", path, files[path] === undefined ? "NotFound" : "InvalidData"))
      }),
    stat: (path) =>
      Effect.suspend(() => {
        calls.push(`stat ${path}`)
        const file = files[path]
        if (file === undefined) return Effect.fail(systemError("stat", path, "NotFound"))
        if (file.unreadable === true) return Effect.fail(systemError("stat", path, "PermissionDenied"))
        return Effect.succeed(fileInfo(file.size ?? (file.content ?? "").length, file.type ?? "File"))
      }),
    readFile: (path) =>
      Effect.sync(() => {
        calls.push(`readFile ${path}`)
        return new TextEncoder().encode(files[path]?.content ?? "")
      })
  })
  return { calls, layer }
}

const fakeHttp = (respond: (n: number, sent: Sent) => Response) => {
  const sent: Array<Sent> = []
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const entry = { method: request.method, url: url.toString(), headers: { ...request.headers } }
      sent.push(entry)
      return HttpClientResponse.fromWeb(request, respond(sent.length, entry))
    })
  )
  return { sent, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

interface SetupOptions {
  readonly respond?: ((n: number, sent: Sent) => Response) | undefined
  readonly identity?: ManagedIdentity.Identity | undefined
  readonly files?: Record<string, FakeFile> | undefined
  readonly options?: AzureArcTokenSource.Options | undefined
}

const setup = (options: SetupOptions = {}) => {
  const http = fakeHttp(
    options.respond ?? ((n) => n % 2 === 1 ? challenge("/var/opt/azcmagent/tokens/abc.key") : json(200, tokenBody()))
  )
  const fs = fakeFileSystem(options.files ?? { "/keys/abc.key": { content: key } })
  const source = AzureArcTokenSource.layer(options.options ?? { keyDirectory: "/keys", platform: "linux" }).pipe(
    Layer.provide(http.layer),
    Layer.provide(fs.layer),
    Layer.provide(ManagedIdentity.layer(options.identity ?? ManagedIdentity.systemAssigned))
  )
  return { sent: http.sent, calls: fs.calls, source }
}

const getToken = (resource = "https://vault.azure.net") =>
  Effect.flatMap(TokenSource.TokenSource, (source) => source.getToken({ resource }))

const withoutTracing = (headers: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(headers).filter(([name]) =>
      name !== "b3" && name !== "traceparent" && name !== "x-ms-client-request-id" && name !== "user-agent"
    )
  )

describe("AzureArcTokenSource", () => {
  it.effect("answers the challenge with the key file named by the realm", () => {
    const { calls, sent, source } = setup()
    return Effect.gen(function*() {
      const token = yield* getToken()
      assert.strictEqual(Redacted.value(token.token), "AT")
      const url = `${endpoint}?api-version=2020-06-01&resource=https%3A%2F%2Fvault.azure.net`
      assert.deepStrictEqual(sent.map(({ method, url }) => `${method} ${url}`), [`GET ${url}`, `GET ${url}`])
      assert.deepStrictEqual(withoutTracing(sent[0].headers), { metadata: "true" })
      assert.deepStrictEqual(withoutTracing(sent[1].headers), { metadata: "true", authorization: `Basic ${key}` })
      assert.deepStrictEqual(calls, ["readLink /keys/abc.key", "stat /keys/abc.key", "readFile /keys/abc.key"])
    }).pipe(Effect.provide(source))
  })

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
    it.effect(`selects ${identity._tag} with ${query.split("=")[0]} and accepts the echo ${Object.keys(echo)[0]}`, () => {
      const { sent, source } = setup({
        identity,
        respond: (n) => n === 1 ? challenge("/tmp/abc") : json(200, tokenBody(echo))
      })
      return Effect.gen(function*() {
        yield* getToken("r")
        const url = `${endpoint}?api-version=2020-06-01&resource=r&${query}`
        assert.deepStrictEqual(sent.map(({ url }) => url), [url, url])
        assert.deepStrictEqual(withoutTracing(sent[1].headers), { metadata: "true", authorization: `Basic ${key}` })
      }).pipe(Effect.provide(source))
    })
  }

  const keyPaths = [
    { realm: "/tmp/foo", path: "/keys/foo.key" },
    { realm: "/a/b/../../etc/passwd.x", path: "/keys/passwd.key" },
    { realm: "..\\..\\secrets\\name.tar.gz", path: "/keys/name.tar.key" },
    { realm: "/tmp/.hidden", path: "/keys/.hidden.key" }
  ]
  for (const { path, realm } of keyPaths) {
    it.effect(`realm ${realm} reads ${path}`, () => {
      const { calls, source } = setup({
        respond: (n) => n === 1 ? challenge(realm) : json(200, tokenBody()),
        files: { [path]: { content: key } }
      })
      return Effect.gen(function*() {
        yield* getToken()
        assert.deepStrictEqual(calls, [`readLink ${path}`, `stat ${path}`, `readFile ${path}`])
      }).pipe(Effect.provide(source))
    })
  }

  it.effect("a realm without a file name is a failed challenge", () => {
    const { calls, source } = setup({ respond: () => challenge("/tmp/") })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(getToken())
      assert.strictEqual(error._tag, "AzureArcChallengeFailed")
      assert.deepStrictEqual(calls, [])
    }).pipe(Effect.provide(source))
  })

  it.effect("uses /var/opt/azcmagent/tokens on Linux", () => {
    const { calls, source } = setup({
      options: { platform: "linux" },
      respond: (n) => n === 1 ? challenge("/tmp/foo") : json(200, tokenBody()),
      files: { "/var/opt/azcmagent/tokens/foo.key": { content: key } }
    })
    return Effect.gen(function*() {
      yield* getToken()
      assert.strictEqual(calls[2], "readFile /var/opt/azcmagent/tokens/foo.key")
    }).pipe(Effect.provide(source))
  })

  it.effect("uses %ProgramData%\\AzureConnectedMachineAgent\\Tokens on Windows", () => {
    const path = "C:\\ProgramData\\AzureConnectedMachineAgent\\Tokens\\foo.key"
    const { calls, sent, source } = setup({
      options: { platform: "win32" },
      respond: (n) => n === 1 ? challenge(path) : json(200, tokenBody()),
      files: { [path]: { content: key } }
    })
    return Effect.gen(function*() {
      yield* getToken()
      assert.deepStrictEqual(calls, [`readLink ${path}`, `stat ${path}`, `readFile ${path}`])
      assert.strictEqual(sent.length, 2)
    }).pipe(
      Effect.provide(source),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ProgramData", "C:\\ProgramData"]])))
    )
  })

  for (
    const { name, options, provider } of [
      { name: "Windows without ProgramData", options: { platform: "win32" }, provider: new Map<string, string>() },
      { name: "another platform", options: { platform: "darwin" }, provider: new Map<string, string>() },
      { name: "an unknown platform", options: {}, provider: new Map<string, string>() }
    ]
  ) {
    it.effect(`fails on ${name} before sending`, () => {
      const { sent, source } = setup({ options })
      return Effect.gen(function*() {
        const error = yield* Effect.flip(getToken())
        assert.strictEqual(error._tag, "AzureArcChallengeFailed")
        assert.strictEqual(sent.length, 0)
      }).pipe(Effect.provide(source), Effect.withConfigProvider(ConfigProvider.fromMap(provider)))
    })
  }

  it.effect("a key file of 4096 bytes is accepted", () => {
    const content = "k".repeat(4096)
    const { sent, source } = setup({ files: { "/keys/abc.key": { content } } })
    return Effect.gen(function*() {
      yield* getToken()
      assert.strictEqual(sent[1].headers.authorization, `Basic ${content}`)
    }).pipe(Effect.provide(source))
  })

  const refusedFiles: ReadonlyArray<
    { readonly name: string; readonly file: FakeFile | undefined; readonly calls: Array<string> }
  > = [
    {
      name: "larger than 4096 bytes, before reading it",
      file: { content: "k".repeat(4097) },
      calls: ["readLink /keys/abc.key", "stat /keys/abc.key"]
    },
    { name: "missing", file: undefined, calls: ["readLink /keys/abc.key", "stat /keys/abc.key"] },
    { name: "a symbolic link", file: { content: key, symlink: true }, calls: ["readLink /keys/abc.key"] },
    {
      name: "unreadable",
      file: { content: key, unreadable: true },
      calls: ["readLink /keys/abc.key", "stat /keys/abc.key"]
    },
    {
      name: "a directory",
      file: { type: "Directory", size: 64 },
      calls: ["readLink /keys/abc.key", "stat /keys/abc.key"]
    },
    {
      name: "empty",
      file: { content: "" },
      calls: ["readLink /keys/abc.key", "stat /keys/abc.key", "readFile /keys/abc.key"]
    }
  ]
  for (const { calls: expectedCalls, file, name } of refusedFiles) {
    it.effect(`refuses a key file that is ${name}`, () => {
      const { calls, sent, source } = setup({ files: file === undefined ? {} : { "/keys/abc.key": file } })
      return Effect.gen(function*() {
        const error = yield* Effect.flip(getToken())
        assert.strictEqual(error._tag, "AzureArcChallengeFailed")
        assert.include(error.message, "/keys/abc.key")
        assert.notInclude(error.message, key)
        assert.deepStrictEqual(calls, expectedCalls)
        assert.strictEqual(sent.length, 1)
      }).pipe(Effect.provide(source))
    })
  }

  const badChallenges: ReadonlyArray<{ readonly name: string; readonly headers: Record<string, string> }> = [
    { name: "no WWW-Authenticate header", headers: {} },
    { name: "Basic realm=a=b", headers: { "WWW-Authenticate": "Basic realm=a=b" } },
    { name: "Bearer realm=x", headers: { "WWW-Authenticate": "Bearer realm=x" } },
    { name: "Basic realm (no value)", headers: { "WWW-Authenticate": "Basic realm" } }
  ]
  for (const { headers, name } of badChallenges) {
    it.effect(`a 401 with ${name} is a failed challenge`, () => {
      const { calls, sent, source } = setup({ respond: () => json(401, {}, headers) })
      return Effect.gen(function*() {
        const error = yield* Effect.flip(getToken())
        assert.strictEqual(error._tag, "AzureArcChallengeFailed")
        assert.strictEqual(sent.length, 1)
        assert.deepStrictEqual(calls, [])
      }).pipe(Effect.provide(source))
    })
  }

  it.effect("accepts the challenge scheme and header name in any case", () => {
    const { sent, source } = setup({
      respond: (n) =>
        n === 1 ? json(401, {}, { "www-authenticate": "BASIC REALM=/tmp/abc.key" }) : json(200, tokenBody())
    })
    return Effect.gen(function*() {
      yield* getToken()
      assert.strictEqual(sent.length, 2)
    }).pipe(Effect.provide(source))
  })

  it.effect("a first answer that is an error status is a TokenRequestFailed with the endpoint's description", () => {
    const { calls, sent, source } = setup({
      respond: () => json(400, { error: "invalid_request", error_description: "Invalid resource" })
    })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(getToken())
      assert(error._tag === "TokenRequestFailed")
      assert.strictEqual(error.status, 400)
      assert.strictEqual(error.error, "invalid_request")
      assert.strictEqual(error.description, "Invalid resource")
      assert.strictEqual(sent.length, 1)
      assert.deepStrictEqual(calls, [])
    }).pipe(Effect.provide(source))
  })

  it.effect("a first answer that is a success is refused, and its body is not echoed", () => {
    const { calls, sent, source } = setup({ respond: () => json(200, tokenBody()) })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(getToken())
      assert(error._tag === "TokenRequestFailed")
      assert.strictEqual(error.status, 200)
      assert.notInclude(JSON.stringify(error), "AT\"")
      assert.strictEqual(sent.length, 1)
      assert.deepStrictEqual(calls, [])
    }).pipe(Effect.provide(source))
  })

  it.effect("a failed second request surfaces the endpoint's error", () => {
    const { sent, source } = setup({
      respond: (n) =>
        n === 1 ? challenge("/tmp/abc") : json(401, { error: "invalid_client", error_description: "bad key" })
    })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(getToken())
      assert(error._tag === "TokenRequestFailed")
      assert.strictEqual(error.status, 401)
      assert.strictEqual(error.description, "bad key")
      assert.notInclude(JSON.stringify(error), key)
      assert.strictEqual(sent.length, 2)
    }).pipe(Effect.provide(source))
  })

  it.effect("retries the whole two-step exchange as one attempt", () => {
    const statuses = [401, 503, 401, 200]
    const { calls, sent, source } = setup({
      respond: (n) => statuses[n - 1] === 401 ? challenge("/tmp/abc") : json(statuses[n - 1], tokenBody())
    })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(getToken())
      yield* TestClock.adjust("10 seconds")
      const token = yield* Fiber.join(fiber)
      assert.strictEqual(Redacted.value(token.token), "AT")
      assert.deepStrictEqual(sent.map(({ headers }) => headers.authorization), [
        undefined,
        `Basic ${key}`,
        undefined,
        `Basic ${key}`
      ])
      assert.strictEqual(calls.filter((call) => call.startsWith("readFile")).length, 2)
    }).pipe(Effect.provide(source))
  })

  it.effect("refuses to send the key to a non-loopback endpoint", () => {
    const { sent, source } = setup({
      options: { keyDirectory: "/keys", endpoint: "http://10.1.2.3:40342/metadata/identity/oauth2/token" }
    })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(getToken())
      assert.strictEqual(error._tag, "InvalidIdentity")
      assert.strictEqual(sent.length, 0)
    }).pipe(Effect.provide(source))
  })

  for (
    const { echo, name } of [
      { name: "missing", echo: {} },
      { name: "different", echo: { client_id: "client-2" } },
      { name: "another selector", echo: { object_id: "client-1" } }
    ]
  ) {
    it.effect(`a user-assigned echo that is ${name} is IdentityNotConfirmed and nothing is cached`, () => {
      const { sent, source } = setup({
        identity: ManagedIdentity.clientId("client-1"),
        respond: (n) => n % 2 === 1 ? challenge("/tmp/abc") : json(200, tokenBody(echo))
      })
      return Effect.gen(function*() {
        const client = yield* ManagedIdentityClient.ManagedIdentityClient
        const first = yield* Effect.flip(client.getToken("https://vault.azure.net"))
        assert(first._tag === "IdentityNotConfirmed")
        assert.strictEqual(first.expected, "client_id=client-1")
        assert.strictEqual(first.received, "client_id" in echo ? "client_id=client-2" : undefined)
        const second = yield* Effect.flip(client.getToken("https://vault.azure.net"))
        assert.strictEqual(second._tag, "IdentityNotConfirmed")
        assert.strictEqual(sent.length, 4)
      }).pipe(
        Effect.provide(
          ManagedIdentityClient.layer.pipe(Layer.provide(source), Layer.provide(TokenCache.layerMemory))
        )
      )
    })
  }

  it.effect("layerConfig reads IDENTITY_ENDPOINT", () => {
    const http = fakeHttp((n) => n === 1 ? challenge("/tmp/abc") : json(200, tokenBody()))
    const fs = fakeFileSystem({ "/keys/abc.key": { content: key } })
    return Effect.gen(function*() {
      yield* getToken("r")
      assert.strictEqual(http.sent[0].url, "http://127.0.0.1:9999/token?api-version=2020-06-01&resource=r")
    }).pipe(
      Effect.provide(
        AzureArcTokenSource.layerConfig({ keyDirectory: "/keys/" }).pipe(
          Layer.provide(http.layer),
          Layer.provide(fs.layer),
          Layer.provide(ManagedIdentity.layerSystemAssigned)
        )
      ),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["IDENTITY_ENDPOINT", "http://127.0.0.1:9999/token"]])))
    )
  })

  it.effect("layerConfig defaults to the agent's endpoint", () => {
    const http = fakeHttp((n) => n === 1 ? challenge("/tmp/abc") : json(200, tokenBody()))
    const fs = fakeFileSystem({ "/keys/abc.key": { content: key } })
    return Effect.gen(function*() {
      yield* getToken("r")
      assert.strictEqual(http.sent[0].url, `${endpoint}?api-version=2020-06-01&resource=r`)
    }).pipe(
      Effect.provide(
        AzureArcTokenSource.layerConfig({ keyDirectory: "/keys" }).pipe(
          Layer.provide(http.layer),
          Layer.provide(fs.layer),
          Layer.provide(ManagedIdentity.layerSystemAssigned)
        )
      ),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["IDENTITY_ENDPOINT", ""]])))
    )
  })
})
