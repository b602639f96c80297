/**
 * Properties of the whole class of hostile input (issue 11): generated endpoint answers through every source and the
 * client, any bytes in a persisted cache entry, any string as MSAL identity JSON. Each property says: the outcome is a
 * value or a typed error (never a defect), it comes in time, and nothing received or secret is echoed.
 *
 * Generated with Effect 4's own `Arbitrary` (Effect 4 has no `FastCheck`), through the fast-check-like helpers in
 * `utils/arbitrary.ts`. Case counts are chosen to run in a few seconds each on a 2-core machine; a failure prints its
 * shrunk input and a `Replay` token to pass back as `{ arbitrary: { replay } }`.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Arbitrary,
  Cause,
  Clock,
  type Config,
  DateTime,
  Effect,
  Exit,
  type Fiber,
  Layer,
  Option,
  Redacted
} from "effect"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import { TestClock } from "effect/testing"
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
import * as Arb from "./utils/arbitrary.js"
import * as FakeFileSystem from "./utils/fakeFileSystem.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as Logs from "./utils/logs.js"
import * as SourceHarness from "./utils/sourceHarness.js"
import * as Telemetry from "./utils/telemetry.js"

const now = Date.UTC(2026, 0, 1)
const resource = "https://vault.azure.net"

type Fields = Record<string, unknown>

/** Pipeline cases; about 30 ms each here (a federated credential's, about 50 ms). */
const pipelineRuns = 300
/** Workload identity file cases. */
const fileRuns = 300
/** Persisted-entry and identity-JSON cases; well under 1 ms each. */
const decoderRuns = 2000

/** Secrets and tokens per case: long random words that nothing else can contain by chance. */
const word = (prefix: string) =>
  Arb.stringMatching(/^[A-Za-z0-9]{20}$/).pipe(Arbitrary.map((text) => `${prefix}${text}`))

/** A `word` and a value generated around it (holding it or not). */
const around = <A>(prefix: string, f: (text: string) => Arbitrary.Arbitrary<A>) =>
  word(prefix).pipe(Arbitrary.flatMap((text) => Arbitrary.all({ word: Arb.constant(text), value: f(text) })))

/** `[` … `]` or `{"a":` … `}` nested `depth` deep around `inner`, as text (a value that deep cannot be stringified). */
const nested = (depth: number, inner: string, objects: boolean) =>
  objects ? `{"a":`.repeat(depth) + inner + "}".repeat(depth) : "[".repeat(depth) + inner + "]".repeat(depth)

/** Up to 30 000 arrays or 10 000 objects deep (about 60 KB, under the 64 KiB body limit), built when used. */
const deep = (inner: string): Arbitrary.Arbitrary<() => string> =>
  Arb.oneof(
    Arb.integer({ min: 1, max: 30_000 }).pipe(Arbitrary.map((depth) => () => nested(depth, inner, false))),
    Arb.integer({ min: 1, max: 10_000 }).pipe(Arbitrary.map((depth) => () => nested(depth, inner, true)))
  )

/** The text of a `deep` value. */
const deepText = (inner: string) => deep(inner).pipe(Arbitrary.map((text) => text()))

/** Placeholder for a deeply nested value inside a body built with `JSON.stringify`. */
const deepSlot = "__deep_value__"

const withDeepValue = (body: string, value: () => string) =>
  body.includes(deepSlot) ? body.replace(`"${deepSlot}"`, value()) : body

const printable = Arb.stringMatching(/^[\x20-\x7e]{0,40}$/)

/** An offset in seconds from `now`: within a year, some already past. */
const offset = Arb.integer({ min: -100_000, max: 31_000_000 })

/** Valid lifetimes: each documented form, within a year (some already past). */
const validLifetime: Arbitrary.Arbitrary<Fields> = Arb.oneof(
  Arb.integer({ min: 0, max: 31_536_000 }).pipe(Arbitrary.map((seconds) => ({ expires_in: seconds }))),
  Arb.integer({ min: 0, max: 31_536_000 }).pipe(Arbitrary.map((seconds) => ({ expires_in: String(seconds) }))),
  offset.pipe(Arbitrary.map((offset) => ({ expires_on: now / 1000 + offset }))),
  offset.pipe(Arbitrary.map((offset) => ({ expires_on: String(now / 1000 + offset) }))),
  offset.pipe(Arbitrary.map((offset) => ({ expires_on: new Date(now + offset * 1000).toISOString() }))),
  offset.pipe(Arbitrary.map((offset) => {
    const date = new Date(now + offset * 1000)
    const two = (n: number) => String(n).padStart(2, "0")
    return {
      expires_on: `${two(date.getUTCMonth() + 1)}/${two(date.getUTCDate())}/${date.getUTCFullYear()} ` +
        `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +00:00`
    }
  }))
)

/** Hostile lifetimes: near misses, odd dates, huge, negative and fractional numbers, wrong types, deep nesting. */
const hostileLifetime: Arbitrary.Arbitrary<unknown> = Arb.oneof(
  Arb.constantFrom(1e20, 9e15, 1e13, -1, 1.5, "1.5", "10000000000000", "99999999999999", "+5", " 5", "1e3", ""),
  Arb.double,
  Arb.int32,
  Arb.bigInt({ min: 0n, max: 10n ** 30n }).pipe(Arbitrary.map(String)),
  Arb.date.pipe(Arbitrary.map((date) => date.toISOString())),
  Arb.date.pipe(Arbitrary.map((date) => date.toUTCString())),
  Arb.date.pipe(Arbitrary.map((date) => date.getTime())),
  Arbitrary.all(Array.from({ length: 7 }, (_, index) => Arb.integer({ min: 0, max: index < 6 ? 99 : 9999 }))).pipe(
    Arbitrary.map(([month, day, hours, minutes, seconds, offset, year]) =>
      [month, day].map((n) => String(n).padStart(2, "0")).join("/") + `/${String(year).padStart(4, "0")} ` +
      [hours, minutes, seconds].map((n) => String(n).padStart(2, "0")).join(":") +
      ` +${String(offset).padStart(2, "0")}:00`
    )
  ),
  Arb.constantFrom("Jan 1 3000", "NaN", "Infinity", "2026-02-30T00:00:00Z", "99/99/2030 99:99:99 +00:00"),
  Arb.constant(null),
  Arb.boolean,
  Arb.constant(deepSlot)
)

/** One hostile change to a success body holding `token`. */
const mutation = (token: string): Arbitrary.Arbitrary<(fields: Fields) => Fields> =>
  Arb.oneof(
    Arb.constantFrom("", { value: token }, [token], 42, null, deepSlot).pipe(
      Arbitrary.map((value) => (fields: Fields): Fields => ({ ...fields, access_token: value }))
    ),
    Arbitrary.all([Arb.constantFrom("expires_in", "expires_on"), hostileLifetime]).pipe(
      Arbitrary.map(([field, value]) => (fields: Fields): Fields => ({ ...fields, [field]: value }))
    ),
    Arb.constantFrom(5, [], deepSlot, { type: "Bearer" }).pipe(
      Arbitrary.map((value) => (fields: Fields): Fields => ({ ...fields, token_type: value }))
    ),
    Arb.constant((fields: Fields): Fields => {
      const { expires_in: _in, expires_on: _on, ...rest } = fields
      return rest
    })
  )

/** A success body holding `token`: valid, then changed by up to two hostile mutations. */
const tokenBody = (token: string) =>
  Arbitrary.all([
    validLifetime,
    Arb.option(Arb.constant("Bearer")),
    Arbitrary.array(mutation(token), { maxLength: 2 }),
    deep(JSON.stringify(token))
  ]).pipe(Arbitrary.map(([lifetime, tokenType, mutations, deepValue]) => {
    const valid: Fields = { access_token: token, ...lifetime, token_type: tokenType, resource }
    return withDeepValue(JSON.stringify(mutations.reduce((fields, mutate) => mutate(fields), valid)), deepValue)
  }))

/** Any body: success-shaped, cut short, deeply nested around the token, random JSON, random text, oversized. */
const body = (token: string): Arbitrary.Arbitrary<string> =>
  Arb.oneof(
    { weight: 20, arbitrary: tokenBody(token) },
    {
      weight: 2,
      arbitrary: tokenBody(token).pipe(Arbitrary.map((text) => text.slice(0, Math.ceil(text.length / 2))))
    },
    { weight: 2, arbitrary: deepText(JSON.stringify({ access_token: token, expires_in: 3600 })) },
    { weight: 4, arbitrary: Arb.json },
    { weight: 2, arbitrary: Arb.string() },
    { weight: 1, arbitrary: Arb.constant(JSON.stringify({ access_token: token, padding: "x".repeat(70_000) })) }
  )

const status = Arb.oneof(
  { weight: 8, arbitrary: Arb.constant(200) },
  { weight: 3, arbitrary: Arb.constantFrom(201, 204, 301, 307, 400, 401, 403, 404, 408, 410, 429, 500, 503, 504) },
  { weight: 1, arbitrary: Arb.integer({ min: 200, max: 599 }) }
)

const retryAfter = Arb.oneof(
  Arb.integer({ min: -5, max: 10_000_000 }).pipe(Arbitrary.map(String)),
  printable,
  Arb.date.pipe(Arbitrary.map((date) => date.toUTCString())),
  Arb.constantFrom("0", "1.5", "9".repeat(400), "Infinity", "NaN", "  7 ")
)

const challenge = Arb.oneof(
  Arb.constant("Basic realm=/var/opt/azcmagent/tokens/abc.key"),
  Arb.constant("Basic realm=/somewhere/else/abc.txt"),
  printable
)

/** An error answer echoing what the request carried, as an endpoint might: whole, encoded or in part. */
interface Echo {
  readonly _tag: "Echo"
  readonly answer: (request: FakeHttp.RecordedRequest) => FakeHttp.Reply
}

const echo: Arbitrary.Arbitrary<Echo> = Arbitrary.all([
  Arb.constantFrom(400, 401, 403, 404, 500),
  Arb.constantFrom(
    (text: string) => text,
    encodeURIComponent,
    (text: string) => text.slice(0, 32),
    (text: string) => text.slice(-32)
  ),
  Arb.constantFrom(
    (text: string) => JSON.stringify({ error: "invalid_request", error_description: `got ${text}` }),
    (text: string) => JSON.stringify({ error: text, correlation_id: text, trace_id: text }),
    (text: string) => JSON.stringify({ statusCode: 400, message: text }),
    (text: string) => JSON.stringify({ error: { code: text, message: text } }),
    (text: string) => `the request said ${text}`
  )
]).pipe(Arbitrary.map(([status, part, shape]): Echo => ({
  _tag: "Echo",
  answer: (request) =>
    FakeHttp.text(shape([...Object.values(request.headers), request.body ?? ""].map(part).join(" ")), { status })
})))

/** Any answer, an echo of the request included. */
const answer = (token: string): Arbitrary.Arbitrary<FakeHttp.Reply | Echo> =>
  Arb.oneof(
    { weight: 2, arbitrary: echo },
    {
      weight: 12,
      arbitrary: Arbitrary.all({
        status,
        body: body(token),
        retryAfter: Arb.option(retryAfter),
        authenticate: Arb.option(challenge)
      }).pipe(Arbitrary.map(({ authenticate, body, retryAfter, status }) =>
        FakeHttp.text(body, {
          status,
          headers: {
            "content-type": "application/json",
            ...(retryAfter === undefined ? {} : { "retry-after": retryAfter }),
            ...(authenticate === undefined ? {} : { "www-authenticate": authenticate })
          }
        })
      ))
    },
    {
      weight: 2,
      arbitrary: Arb.constant(
        FakeHttp.text("", { status: 401, headers: { "www-authenticate": "Basic realm=/tokens/abc.key" } })
      )
    },
    { weight: 1, arbitrary: Arb.constant(FakeHttp.refused) },
    {
      weight: 1,
      arbitrary: Arb.constant(
        FakeHttp.transportError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))
      )
    },
    {
      weight: 1,
      arbitrary: Arb.constant(FakeHttp.transportError(new TypeError("fetch failed", { cause: new Error("bad port") })))
    },
    { weight: 1, arbitrary: Arb.constant(FakeHttp.never) }
  )

type SourceLayer = Layer.Layer<TokenSource.TokenSource, Config.ConfigError, SourceHarness.Requirements>

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
          issuedAt: DateTime.makeUnsafe(millis),
          expiresOn: DateTime.makeUnsafe(millis + 3_600_000)
        }))
  })))
})

const realTurn = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 0)))

/**
 * The fiber's exit, which must come before the virtual clock passes the deadline: it gets ten real turns first (most
 * outcomes need no virtual time; a federated credential's two hops need that many to reach their first retry), then
 * the clock is moved to the deadline, then only real time may pass.
 */
const settled = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.gen(function*() {
    for (let turn = 0; turn < 60; turn++) {
      const exit = fiber.pollUnsafe()
      if (exit !== undefined) return exit
      yield* turn === 10 ? TestClock.adjust(RetryPolicy.defaultDeadline) : realTurn
    }
    return assert.fail("getToken did not finish within the deadline")
  })

/** An exit is a value or a typed error: no defect, no interruption. */
const assertTyped = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) return
  assert.isFalse(Cause.hasDies(exit.cause), Cause.pretty(exit.cause))
  const failure = Cause.findErrorOption(exit.cause)
  assert(Option.isSome(failure), Cause.pretty(exit.cause))
  assert.isTrue(isManagedIdentityError(failure.value), Cause.pretty(exit.cause))
}

const renderings = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit)
    ? ""
    : Telemetry.serialise([String(Cause.squash(exit.cause)), Cause.pretty(exit.cause), Cause.squash(exit.cause)])

/** One pipeline case: a source, its secret, the token the answers carry, and the answers in order. */
const pipelineCase = Arbitrary.all([word("tok"), word("sec")]).pipe(
  Arbitrary.flatMap(([token, secret]) =>
    Arbitrary.all({
      kind: Arb.constantFrom(...Object.keys(sources(""))),
      token: Arb.constant(token),
      secret: Arb.constant(secret),
      replies: Arbitrary.array(answer(token), { minLength: 1, maxLength: 6 })
    })
  )
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

const persistedEntry = (token: string): Arbitrary.Arbitrary<string> => {
  const valid = offset.pipe(Arbitrary.map((offset): Entry => ({
    version: 1,
    token: {
      token,
      tokenType: "Bearer",
      resource,
      expiresOn: new Date(now + offset * 1000).toISOString(),
      refreshOn: null,
      source: "cache"
    }
  })))
  const change = Arb.oneof(
    Arbitrary.all([
      Arb.constantFrom("token", "tokenType", "resource", "expiresOn", "refreshOn", "source"),
      Arb.oneof(
        Arb.constantFrom(null, 42, "", { value: token }, [token], deepSlot, "9999-99-99", "+275761-01-01"),
        Arb.date.pipe(Arbitrary.map((date) => date.toISOString())),
        Arb.string()
      )
    ]).pipe(Arbitrary.map(([field, value]) => (entry: Entry): Entry => ({
      ...entry,
      token: { ...entry.token, [field]: value }
    }))),
    Arb.constantFrom(2, "1", null, deepSlot).pipe(
      Arbitrary.map((version) => (entry: Entry): Entry => ({ ...entry, version }))
    )
  )
  return Arb.oneof(
    Arb.uint8Array({ maxLength: 512 }).pipe(Arbitrary.map((bytes) => new TextDecoder().decode(bytes))),
    Arb.string({ maxLength: 256 }),
    Arb.json,
    Arbitrary.all([valid, Arbitrary.array(change, { maxLength: 2 }), deep(JSON.stringify(token))]).pipe(
      Arbitrary.map(([entry, changes, deepValue]) =>
        withDeepValue(JSON.stringify(changes.reduce((changed, apply) => apply(changed), entry)), deepValue)
      )
    ),
    deepText(JSON.stringify(token))
  )
}

/** MSAL identity JSON: any string, random JSON, or the MSAL shape with `value` where it belongs or does not. */
const msalJson = (value: string): Arbitrary.Arbitrary<string> => {
  const field = Arb.oneof(
    Arb.constantFrom("SystemAssigned", "ClientId", "ResourceId", "ObjectId"),
    Arb.constantFrom(value, null, "", "   ", 42, { value }, [value], deepSlot)
  )
  return Arb.oneof(
    Arb.string({ maxLength: 256 }),
    Arb.json,
    Arbitrary.all([
      Arb.partialRecord({ ManagedIdentityIdType: field, Id: field, Tenant: Arb.constantFrom(value, deepSlot) }),
      deep(JSON.stringify(value))
    ]).pipe(Arbitrary.map(([fields, deepValue]) => withDeepValue(JSON.stringify(fields), deepValue))),
    deepText(JSON.stringify(value))
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
          .pipe(Effect.provide(client), Effect.provide(capture.layer), Effect.forkChild)
        const exit = yield* settled(fiber)
        assertTyped(exit)
        const seen = renderings(exit) + capture.everything()
        assert.notInclude(seen, token, "the token was echoed")
        assert.notInclude(seen, secret, "the secret was echoed")
      }),
    { arbitrary: { runs: pipelineRuns } }
  )

  it.effect.prop(
    "workload identity's token and CA files over FileSystem: any bytes, any kind of file, any size it claims, end in a token or a typed error, never reading more than the bound + 1",
    {
      generated: Arbitrary.all({
        variable: Arb.constantFrom("AZURE_FEDERATED_TOKEN_FILE", "AZURE_KUBERNETES_CA_FILE"),
        file: Arb.option(
          Arbitrary.all({
            content: Arb.oneof(
              Arb.string({ maxLength: 512 }),
              Arb.integer({ min: 60_000, max: 1_100_000 }).pipe(Arbitrary.map((length) => "x".repeat(length)))
            ),
            type: Arb.constantFrom(
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
            size: Arb.option(Arb.oneof(Arb.nat, Arb.constant(2 ** 40))),
            symlink: Arb.boolean,
            unreadable: Arb.boolean
          })
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
    { arbitrary: { runs: fileRuns } }
  )

  it.prop(
    "the persisted-cache decoder: any bytes in the store are a token or a miss with one warning that shows no content",
    { generated: around("stored", persistedEntry) },
    ({ generated: { value: text, word: token } }) => {
      const warnings: Array<string> = []
      const logger = Logs.make(({ annotations, logLevel, message }) => {
        if (logLevel.label === "WARN") warnings.push(Telemetry.serialise([message, [...annotations]]))
      })
      const key = TokenCache.key(ManagedIdentity.systemAssigned, resource)
      const entries = new Map([[key, text]])
      const store = KeyValueStore.makeStringOnly({
        get: (key) => Effect.sync(() => entries.get(key)),
        set: (key, value) => Effect.sync(() => void entries.set(key, value)),
        remove: (key) => Effect.sync(() => void entries.delete(key)),
        clear: Effect.sync(() => entries.clear()),
        size: Effect.sync(() => entries.size),
        keys: Effect.sync(() => [...entries.keys()])
      })
      const exit = Effect.runSyncExit(
        Effect.flatMap(TokenCache.makeKeyValueStore, (cache) => cache.get(key)).pipe(
          Effect.provideService(KeyValueStore.KeyValueStore, store),
          Effect.provide(Logs.layer(logger))
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
    { arbitrary: { runs: decoderRuns } }
  )

  it.prop(
    "fromMsalJson: any string is an identity or an InvalidIdentity that never shows a received value",
    { generated: around("id", msalJson) },
    ({ generated: { value: json, word: value } }) => {
      const exit = Effect.runSyncExit(ManagedIdentity.fromMsalJson(json))
      if (Exit.isSuccess(exit)) return
      const [reason, ...others] = exit.cause.reasons
      assert(others.length === 0 && Cause.isFailReason(reason), Cause.pretty(exit.cause))
      const error = reason.error
      assert.strictEqual(error._tag, "InvalidIdentity")
      assert.isBelow(error.message.length, 500)
      assert.notInclude(Telemetry.serialise([error.message, error]), value)
    },
    { arbitrary: { runs: decoderRuns } }
  )
})
