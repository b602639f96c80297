/**
 * Properties of the whole class of hostile input (issue 11): generated endpoint answers through every source and the
 * client, any bytes in a persisted cache entry, any string as MSAL identity JSON. Each property says: the outcome is a
 * value or a typed error (never a defect), it comes in time, and nothing received or secret is echoed.
 *
 * Case counts are chosen to run in a few seconds each on a 2-core machine; fast-check prints the seed of a failure
 * to replay it.
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Clock,
  type ConfigError,
  DateTime,
  Effect,
  Exit,
  FastCheck as fc,
  Fiber,
  FiberRef,
  HashMap,
  HashSet,
  Layer,
  Logger,
  Option,
  Redacted,
  TestClock
} from "effect"
import * as AppServiceTokenSource from "../src/AppServiceTokenSource.js"
import * as AzureArcTokenSource from "../src/AzureArcTokenSource.js"
import * as CloudShellTokenSource from "../src/CloudShellTokenSource.js"
import * as FederatedCredentialTokenSource from "../src/FederatedCredentialTokenSource.js"
import * as ImdsTokenSource from "../src/ImdsTokenSource.js"
import * as MachineLearningTokenSource from "../src/MachineLearningTokenSource.js"
import * as ManagedIdentity from "../src/ManagedIdentity.js"
import * as ManagedIdentityClient from "../src/ManagedIdentityClient.js"
import { isManagedIdentityError } from "../src/ManagedIdentityError.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as ServiceFabricTokenSource from "../src/ServiceFabricTokenSource.js"
import * as TokenCache from "../src/TokenCache.js"
import * as TokenSource from "../src/TokenSource.js"
import * as WorkloadIdentityTokenSource from "../src/WorkloadIdentityTokenSource.js"
import * as FakeFileSystem from "./utils/fakeFileSystem.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"
import * as Telemetry from "./utils/telemetry.js"

const now = Date.UTC(2026, 0, 1)
const resource = "https://vault.azure.net"

/** Pipeline cases; about 30 ms each here (a federated credential's, about 50 ms). */
const pipelineRuns = 300
/** Persisted-entry and identity-JSON cases; well under 1 ms each. */
const decoderRuns = 2000

/** Secrets and tokens per case: long random words that nothing else can contain by chance. */
const word = (prefix: string) => fc.stringMatching(/^[A-Za-z0-9]{20}$/).map((text) => `${prefix}${text}`)

/** `[` … `]` or `{"a":` … `}` nested `depth` deep around `inner`, as text (a value that deep cannot be stringified). */
const nested = (depth: number, inner: string, objects: boolean) =>
  objects ? `{"a":`.repeat(depth) + inner + "}".repeat(depth) : "[".repeat(depth) + inner + "]".repeat(depth)

/** Up to 30 000 arrays or 10 000 objects deep (about 60 KB, under the 64 KiB body limit), built when used. */
const deep = (inner: string): fc.Arbitrary<() => string> =>
  fc.oneof(
    fc.integer({ min: 1, max: 30_000 }).map((depth) => () => nested(depth, inner, false)),
    fc.integer({ min: 1, max: 10_000 }).map((depth) => () => nested(depth, inner, true))
  )

/** Placeholder for a deeply nested value inside a body built with `JSON.stringify`. */
const deepSlot = "__deep_value__"

const withDeepValue = (body: string, value: () => string) =>
  body.includes(deepSlot) ? body.replace(`"${deepSlot}"`, value()) : body

const printable = fc.stringMatching(/^[\x20-\x7e]{0,40}$/)

/** Valid lifetimes: each documented form, within a year (some already past). */
const validLifetime: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.integer({ min: 0, max: 31_536_000 }).map((seconds) => ({ expires_in: seconds })),
  fc.integer({ min: 0, max: 31_536_000 }).map((seconds) => ({ expires_in: String(seconds) })),
  fc.integer({ min: -100_000, max: 31_000_000 }).map((offset) => ({ expires_on: now / 1000 + offset })),
  fc.integer({ min: -100_000, max: 31_000_000 }).map((offset) => ({ expires_on: String(now / 1000 + offset) })),
  fc.integer({ min: -100_000, max: 31_000_000 }).map((offset) => ({
    expires_on: new Date(now + offset * 1000).toISOString()
  })),
  fc.integer({ min: -100_000, max: 31_000_000 }).map((offset) => {
    const date = new Date(now + offset * 1000)
    const two = (n: number) => String(n).padStart(2, "0")
    return {
      expires_on: `${two(date.getUTCMonth() + 1)}/${two(date.getUTCDate())}/${date.getUTCFullYear()} ` +
        `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +00:00`
    }
  })
)

/** Hostile lifetimes: near misses, odd dates, huge, negative and fractional numbers, wrong types, deep nesting. */
const hostileLifetime: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(1e20, 9e15, 1e13, -1, 1.5, "1.5", "10000000000000", "99999999999999", "+5", " 5", "1e3", ""),
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.date({ noInvalidDate: true }).map((date) => date.toUTCString()),
  fc.date({ noInvalidDate: true }).map((date) => date.getTime()),
  fc.tuple(...Array.from({ length: 6 }, () => fc.integer({ min: 0, max: 99 })), fc.integer({ min: 0, max: 9999 })).map(
    ([month, day, hours, minutes, seconds, offset, year]) =>
      [month, day].map((n) => String(n).padStart(2, "0")).join("/") + `/${String(year).padStart(4, "0")} ` +
      [hours, minutes, seconds].map((n) => String(n).padStart(2, "0")).join(":") +
      ` +${String(offset).padStart(2, "0")}:00`
  ),
  fc.constantFrom("Jan 1 3000", "NaN", "Infinity", "2026-02-30T00:00:00Z", "99/99/2030 99:99:99 +00:00"),
  fc.constant(null),
  fc.boolean(),
  fc.constant(deepSlot)
)

type Fields = Record<string, unknown>

type FileSystemType = NonNullable<FakeFileSystem.FakeFile["type"]>

/** One hostile change to a success body holding `token`. */
const mutation = (token: string): fc.Arbitrary<(fields: Fields) => Fields> =>
  fc.oneof<Array<fc.Arbitrary<(fields: Fields) => Fields>>>(
    fc.constantFrom<unknown>("", { value: token }, [token], 42, null, deepSlot).map((value) => (fields) => ({
      ...fields,
      access_token: value
    })),
    fc.tuple(fc.constantFrom("expires_in", "expires_on"), hostileLifetime).map(([field, value]) => (fields) => ({
      ...fields,
      [field]: value
    })),
    fc.constantFrom<unknown>(5, [], deepSlot, { type: "Bearer" }).map((value) => (fields) => ({
      ...fields,
      token_type: value
    })),
    fc.constant((fields: Record<string, unknown>) => {
      const { expires_in: _in, expires_on: _on, ...rest } = fields
      return rest
    })
  )

/** A success body holding `token`: valid, then changed by up to two hostile mutations. */
const tokenBody = (token: string) =>
  fc.tuple(
    validLifetime,
    fc.option(fc.constant("Bearer"), { nil: undefined }),
    fc.array(mutation(token), { maxLength: 2 }),
    deep(JSON.stringify(token))
  ).map(([lifetime, tokenType, mutations, deepValue]) => {
    const valid: Fields = { access_token: token, ...lifetime, token_type: tokenType, resource }
    return withDeepValue(JSON.stringify(mutations.reduce((fields, mutate) => mutate(fields), valid)), deepValue)
  })

/** Any body: success-shaped, cut short, deeply nested around the token, random JSON, random text, oversized. */
const body = (token: string): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 20, arbitrary: tokenBody(token) },
    { weight: 2, arbitrary: tokenBody(token).map((text) => text.slice(0, Math.ceil(text.length / 2))) },
    { weight: 2, arbitrary: deep(JSON.stringify({ access_token: token, expires_in: 3600 })).map((text) => text()) },
    { weight: 4, arbitrary: fc.json() },
    { weight: 2, arbitrary: fc.string() },
    { weight: 1, arbitrary: fc.constant(JSON.stringify({ access_token: token, padding: "x".repeat(70_000) })) }
  )

const status = fc.oneof(
  { weight: 8, arbitrary: fc.constant(200) },
  { weight: 3, arbitrary: fc.constantFrom(201, 204, 301, 307, 400, 401, 403, 404, 408, 410, 429, 500, 503, 504) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 599 }) }
)

const retryAfter = fc.oneof(
  fc.integer({ min: -5, max: 10_000_000 }).map(String),
  printable,
  fc.date({ noInvalidDate: true }).map((date) => date.toUTCString()),
  fc.constantFrom("0", "1.5", "9".repeat(400), "Infinity", "NaN", "  7 ")
)

const challenge = fc.oneof(
  fc.constant("Basic realm=/var/opt/azcmagent/tokens/abc.key"),
  fc.constant("Basic realm=/somewhere/else/abc.txt"),
  printable
)

/** An error answer echoing what the request carried, as an endpoint might: whole, encoded or in part. */
interface Echo {
  readonly _tag: "Echo"
  readonly answer: (request: FakeHttp.RecordedRequest) => FakeHttp.Reply
}

const echo: fc.Arbitrary<Echo> = fc.tuple(
  fc.constantFrom(400, 401, 403, 404, 500),
  fc.constantFrom<Array<(text: string) => string>>(
    (text) => text,
    encodeURIComponent,
    (text) => text.slice(0, 32),
    (text) => text.slice(-32)
  ),
  fc.constantFrom<Array<(text: string) => string>>(
    (text) => JSON.stringify({ error: "invalid_request", error_description: `got ${text}` }),
    (text) => JSON.stringify({ error: text, correlation_id: text, trace_id: text }),
    (text) => JSON.stringify({ statusCode: 400, message: text }),
    (text) => JSON.stringify({ error: { code: text, message: text } }),
    (text) => `the request said ${text}`
  )
).map(([status, part, shape]): Echo => ({
  _tag: "Echo",
  answer: (request) =>
    FakeHttp.text(shape([...Object.values(request.headers), request.body ?? ""].map(part).join(" ")), { status })
}))

/** Any answer, an echo of the request included. */
const answer = (token: string): fc.Arbitrary<FakeHttp.Reply | Echo> =>
  fc.oneof(
    { weight: 2, arbitrary: echo as fc.Arbitrary<FakeHttp.Reply | Echo> },
    {
      weight: 12,
      arbitrary: fc.record({
        status,
        body: body(token),
        retryAfter: fc.option(retryAfter, { nil: undefined }),
        authenticate: fc.option(challenge, { nil: undefined })
      }).map(({ authenticate, body, retryAfter, status }) =>
        FakeHttp.text(body, {
          status,
          headers: {
            "content-type": "application/json",
            ...(retryAfter === undefined ? {} : { "retry-after": retryAfter }),
            ...(authenticate === undefined ? {} : { "www-authenticate": authenticate })
          }
        })
      )
    },
    {
      weight: 2,
      arbitrary: fc.constant(
        FakeHttp.text("", { status: 401, headers: { "www-authenticate": "Basic realm=/tokens/abc.key" } })
      )
    },
    { weight: 1, arbitrary: fc.constant(FakeHttp.refused) },
    {
      weight: 1,
      arbitrary: fc.constant(
        FakeHttp.transportError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))
      )
    },
    {
      weight: 1,
      arbitrary: fc.constant(FakeHttp.transportError(new TypeError("fetch failed", { cause: new Error("bad port") })))
    },
    { weight: 1, arbitrary: fc.constant(FakeHttp.never) }
  )

type SourceLayer = Layer.Layer<TokenSource.TokenSource, ConfigError.ConfigError, SourceHarness.Requirements>

/** Every source, each holding `secret` where it has one (Azure Arc: in its key file). */
const sources = (secret: string): Record<string, SourceLayer> => ({
  Imds: ImdsTokenSource.layer({ authorityHost: "http://127.0.0.1:1" }),
  AppService: AppServiceTokenSource.layer({
    endpoint: "http://127.0.0.1:41234/msi/token",
    identityHeader: Redacted.make(secret)
  }),
  MachineLearning: MachineLearningTokenSource.layer({
    endpoint: "http://127.0.0.1:46808/MSI/auth",
    secret: Redacted.make(secret)
  }),
  CloudShell: CloudShellTokenSource.layer({ endpoint: "http://localhost:50342/oauth2/token" }),
  ServiceFabric: ServiceFabricTokenSource.layer({
    endpoint: "https://127.0.0.1:2377/metadata/identity/oauth2/token",
    identityHeader: Redacted.make(secret),
    thumbprint: "ab".repeat(20)
  }),
  AzureArc: AzureArcTokenSource.layer({ keyDirectory: "/keys", platform: "linux" }),
  WorkloadIdentity: WorkloadIdentityTokenSource.layer({
    tenantId: "contoso.onmicrosoft.com",
    tokenFile: "/tokens/azure-identity-token",
    clientId: "11111111-2222-3333-4444-555555555555"
  }),
  // the managed identity's token (hop 1) is the secret the exchange carries as its assertion
  FederatedCredential: FederatedCredentialTokenSource.layer({
    tenantId: "contoso.onmicrosoft.com",
    clientId: "11111111-2222-4333-8444-555555555555"
  }).pipe(Layer.provide(TokenSource.layerTest({
    getToken: (request) =>
      Effect.map(Clock.currentTimeMillis, (millis) =>
        TokenSource.issuedToken({
          token: Redacted.make(secret),
          resource: request.resource,
          issuedAt: DateTime.unsafeMake(millis),
          expiresOn: DateTime.unsafeMake(millis + 3_600_000)
        }))
  })))
})

const realTurn = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 0)))

/**
 * The fiber's exit, which must come before the virtual clock passes the deadline: it gets ten real turns first (most
 * outcomes need no virtual time; a federated credential's two hops need that many to reach their first retry), then
 * the clock is moved to the deadline, then only real time may pass.
 */
const settled = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function*() {
    for (let turn = 0; turn < 60; turn++) {
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return exit.value
      yield* turn === 10 ? TestClock.adjust(RetryPolicy.defaultDeadline) : realTurn
    }
    return assert.fail("getToken did not finish within the deadline")
  })

/** An exit is a value or a typed error: no defect, no interruption. */
const assertTyped = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) return
  assert.isFalse(Cause.isDie(exit.cause), Cause.pretty(exit.cause))
  const failure = Cause.failureOption(exit.cause)
  assert(Option.isSome(failure), Cause.pretty(exit.cause))
  assert.isTrue(isManagedIdentityError(failure.value), Cause.pretty(exit.cause))
}

const renderings = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit)
    ? ""
    : Telemetry.serialise([String(Cause.squash(exit.cause)), Cause.pretty(exit.cause), Cause.squash(exit.cause)])

/** One pipeline case: a source, its secret, the token the answers carry, and the answers in order. */
const pipelineCase = fc.tuple(word("tok"), word("sec")).chain(([token, secret]) =>
  fc.record({
    kind: fc.constantFrom(...Object.keys(sources(""))),
    token: fc.constant(token),
    secret: fc.constant(secret),
    replies: fc.array(answer(token), { minLength: 1, maxLength: 6 })
  })
)

/** The script of `replies`: the last one repeats; an echo answers with what its request carried. */
const scripted =
  (replies: ReadonlyArray<FakeHttp.Reply | Echo>) =>
  (request: FakeHttp.RecordedRequest, index: number): FakeHttp.Reply => {
    const reply = replies[Math.min(index, replies.length - 1)]
    return reply._tag === "Echo" ? reply.answer(request) : reply
  }

/** A persisted entry: any bytes, random JSON, or a valid entry holding `token` with up to two hostile changes. */
interface Entry {
  readonly version: unknown
  readonly token: Fields
}

const persistedEntry = (token: string): fc.Arbitrary<string> => {
  const valid = fc.integer({ min: -100_000, max: 31_000_000 }).map((offset): Entry => ({
    version: 1,
    token: {
      token,
      tokenType: "Bearer",
      resource,
      expiresOn: new Date(now + offset * 1000).toISOString(),
      refreshOn: null,
      source: "cache"
    }
  }))
  const change = fc.oneof<Array<fc.Arbitrary<(entry: Entry) => Entry>>>(
    fc.tuple(
      fc.constantFrom("token", "tokenType", "resource", "expiresOn", "refreshOn", "source"),
      fc.oneof(
        fc.constantFrom<unknown>(null, 42, "", { value: token }, [token], deepSlot, "9999-99-99", "+275761-01-01"),
        fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
        fc.string()
      )
    ).map(([field, value]) => (entry: Entry) => ({
      ...entry,
      token: { ...entry.token, [field]: value }
    })),
    fc.constantFrom<unknown>(2, "1", null, deepSlot).map(
      (version) => (entry: { version: unknown; token: Record<string, unknown> }) => ({ ...entry, version })
    )
  )
  return fc.oneof(
    fc.uint8Array({ maxLength: 512 }).map((bytes) => new TextDecoder().decode(bytes)),
    fc.string({ unit: "binary", maxLength: 256 }),
    fc.json(),
    fc.tuple(valid, fc.array(change, { maxLength: 2 }), deep(JSON.stringify(token))).map(
      ([entry, changes, deepValue]) =>
        withDeepValue(JSON.stringify(changes.reduce((changed, apply) => apply(changed), entry)), deepValue)
    ),
    deep(JSON.stringify(token)).map((text) => text())
  )
}

/** MSAL identity JSON: any string, random JSON, or the MSAL shape with `value` where it belongs or does not. */
const msalJson = (value: string): fc.Arbitrary<string> => {
  const field = fc.oneof(
    fc.constantFrom<unknown>("SystemAssigned", "ClientId", "ResourceId", "ObjectId"),
    fc.constantFrom<unknown>(value, null, "", "   ", 42, { value }, [value], deepSlot)
  )
  return fc.oneof(
    fc.string({ unit: "binary", maxLength: 256 }),
    fc.json(),
    fc.tuple(
      fc.record(
        { ManagedIdentityIdType: field, Id: field, Tenant: fc.constantFrom<unknown>(value, deepSlot) },
        { requiredKeys: [] }
      ),
      deep(JSON.stringify(value))
    ).map(([fields, deepValue]) => withDeepValue(JSON.stringify(fields), deepValue)),
    deep(JSON.stringify(value)).map((text) => text())
  )
}

describe("properties", () => {
  it.effect.prop(
    "the pipeline: any answers through any source and the client end in a token or a typed error, within the deadline, echoing no token or secret",
    { generated: pipelineCase },
    ({ generated: { kind, replies, secret, token } }) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const capture = yield* Telemetry.make
        const http = yield* FakeHttp.make(scripted(replies))
        const fileSystem = FakeFileSystem.make({
          "/keys/abc.key": { content: secret },
          "/tokens/azure-identity-token": { content: secret }
        })
        const client = ManagedIdentityClient.layer.pipe(
          Layer.provide(SourceHarness.layer(sources(secret)[kind], { http, fileSystem })),
          Layer.provide(TokenCache.layerMemory)
        )
        const fiber = yield* Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (c) => c.getToken(resource))
          .pipe(Effect.provide(client), Effect.provide(capture.layer), Effect.fork)
        const exit = yield* settled(fiber)
        assertTyped(exit)
        const seen = renderings(exit) + capture.everything()
        assert.notInclude(seen, token, "the token was echoed")
        assert.notInclude(seen, secret, "the secret was echoed")
      }),
    { fastCheck: { numRuns: pipelineRuns }, timeout: 60_000 }
  )

  it.effect.prop(
    "workload identity's token and CA files over FileSystem: any bytes, any kind of file, any size it claims, end in a token or a typed error, never reading more than the bound + 1",
    {
      generated: fc.record({
        variable: fc.constantFrom("AZURE_FEDERATED_TOKEN_FILE", "AZURE_KUBERNETES_CA_FILE"),
        file: fc.option(
          fc.record({
            content: fc.oneof(
              fc.string({ unit: "binary", maxLength: 512 }),
              fc.integer({ min: 60_000, max: 1_100_000 }).map((length) => "x".repeat(length))
            ),
            type: fc.constantFrom<FileSystemType>(
              "File",
              "File",
              "File",
              "Directory",
              "SymbolicLink",
              "BlockDevice",
              "CharacterDevice",
              "FIFO",
              "Socket",
              "Unknown"
            ),
            size: fc.option(fc.oneof(fc.nat(), fc.constant(2 ** 40)), { nil: undefined }),
            symlink: fc.boolean(),
            unreadable: fc.boolean()
          }),
          { nil: undefined }
        )
      })
    },
    ({ generated: { file, variable } }) =>
      Effect.gen(function*() {
        const tokenFile = "/var/run/secrets/azure/tokens/azure-identity-token"
        const caFile = "/etc/kubernetes/ca.pem"
        const named = variable === "AZURE_FEDERATED_TOKEN_FILE" ? tokenFile : caFile
        const assertion = "a.federated.token"
        const fileSystem = FakeFileSystem.make({
          [tokenFile]: { content: assertion },
          [caFile]: { content: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
          ...(file === undefined ? {} : { [named]: file })
        })
        const http = yield* FakeHttp.make([FakeHttp.json({ access_token: "AT", expires_in: 3600 })])
        const source = WorkloadIdentityTokenSource.layer({
          tenantId: "contoso.onmicrosoft.com",
          tokenFile,
          clientId: "11111111-2222-3333-4444-555555555555",
          tokenProxy: variable === "AZURE_KUBERNETES_CA_FILE"
            ? { url: "https://proxy.example", caFile }
            : undefined,
          retrySchedule: RetryPolicy.none
        })
        const exit = yield* Effect.exit(
          SourceHarness.getToken(resource).pipe(SourceHarness.provide(source, { http, fileSystem }))
        )
        assertTyped(exit)
        if (Exit.isFailure(exit)) {
          const error = Cause.squash(exit.cause) as { readonly _tag: string; readonly message: string }
          if (error._tag === "SourceUnavailable") assert.include(error.message, `${variable} ${named}`)
        }
        const [bound, alsoRead] = variable === "AZURE_FEDERATED_TOKEN_FILE"
          ? [64 * 1024, 0]
          : [1024 * 1024, assertion.length]
        assert.isAtMost(fileSystem.bytesRead(), bound + 1 + alsoRead)
        assert.notInclude(fileSystem.calls, `readFile ${named}`)
      }),
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "the persisted-cache decoder: any bytes in the store are a token or a miss with one warning that shows no content",
    {
      generated: word("stored").chain((token) => fc.record({ token: fc.constant(token), text: persistedEntry(token) }))
    },
    ({ generated: { text, token } }) => {
      const warnings: Array<string> = []
      const logger = Logger.make(({ annotations, logLevel, message }) => {
        if (logLevel.label === "WARN") warnings.push(Telemetry.serialise([message, HashMap.toEntries(annotations)]))
      })
      const key = TokenCache.key(ManagedIdentity.systemAssigned, resource)
      const entries = new Map([[key, text]])
      const store = KeyValueStore.makeStringOnly({
        get: (key) => Effect.sync(() => Option.fromNullable(entries.get(key))),
        set: (key, value) => Effect.sync(() => void entries.set(key, value)),
        remove: (key) => Effect.sync(() => void entries.delete(key)),
        clear: Effect.sync(() => entries.clear()),
        size: Effect.sync(() => entries.size)
      })
      const exit = Effect.runSyncExit(
        Effect.flatMap(TokenCache.makeKeyValueStore, (cache) => cache.get(key)).pipe(
          Effect.provideService(KeyValueStore.KeyValueStore, store),
          Effect.locally(FiberRef.currentLoggers, HashSet.make(logger))
        )
      )
      assert(Exit.isSuccess(exit), String(exit))
      if (Option.isSome(exit.value)) {
        assert.notStrictEqual(Redacted.value(exit.value.value.token), "")
        assert.deepStrictEqual(warnings, [])
      } else {
        assert.strictEqual(warnings.length, 1)
        assert.notInclude(warnings[0], token)
      }
    },
    { fastCheck: { numRuns: decoderRuns } }
  )

  it.prop(
    "fromMsalJson: any string is an identity or an InvalidIdentity that never shows a received value",
    { generated: word("id").chain((value) => fc.record({ value: fc.constant(value), json: msalJson(value) })) },
    ({ generated: { json, value } }) => {
      const exit = Effect.runSyncExit(ManagedIdentity.fromMsalJson(json))
      if (Exit.isSuccess(exit)) return
      assert(exit.cause._tag === "Fail", Cause.pretty(exit.cause))
      const error = exit.cause.error
      assert.strictEqual(error._tag, "InvalidIdentity")
      assert.isBelow(error.message.length, 500)
      assert.notInclude(Telemetry.serialise([error.message, error]), value)
    },
    { fastCheck: { numRuns: decoderRuns } }
  )
})
