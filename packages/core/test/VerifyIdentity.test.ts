import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, DateTime, Effect, FastCheck as fc, Layer, Logger, Option, Redacted, TestClock } from "effect"
import * as ImdsTokenSource from "../src/ImdsTokenSource.js"
import * as MachineLearningTokenSource from "../src/MachineLearningTokenSource.js"
import * as ManagedIdentity from "../src/ManagedIdentity.js"
import * as ManagedIdentityClient from "../src/ManagedIdentityClient.js"
import { type ManagedIdentityError, printable } from "../src/ManagedIdentityError.js"
import * as TokenCache from "../src/TokenCache.js"
import * as TokenSource from "../src/TokenSource.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import { tracked } from "./utils/idle.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const resource = "https://vault.azure.net"
const providers = "/subscriptions/0000/resourceGroups/rg/providers"
const vm = `${providers}/Microsoft.Compute/virtualMachines/vm-1`
const onlyUserAssigned = `${providers}/Microsoft.ManagedIdentity/userAssignedIdentities/only-one`

/** An unsigned JWT-shaped token with these claims (nothing verifies the signature). */
const jwt = (claims: object, signature = "sig"): string =>
  `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${
    Buffer.from(JSON.stringify(claims)).toString("base64url")
  }.${signature}`

const answer = (token: string, expiresIn = 3600) => FakeHttp.json({ access_token: token, expires_in: expiresIn })

/** The client over IMDS (fake HTTP answering `replies`, the last repeating) for `identity`, verification on or off. */
const imdsClient = (
  http: FakeHttp.FakeHttp,
  identity: ManagedIdentity.Identity = ManagedIdentity.systemAssigned,
  verifyIdentity = true
) =>
  ManagedIdentityClient.layerWithOptions({ verifyIdentity }).pipe(
    Layer.provide(SourceHarness.layer(ImdsTokenSource.layer(), { http, identity })),
    Layer.provide(TokenCache.layerMemory)
  )

const getToken = Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken(resource))

/** The answers in turn, one per call. */
const scriptedAnswer = (answers: ReadonlyArray<string>) => {
  let n = 0
  return Effect.sync(() => answers[n++ % answers.length])
}

/** A token as a source issues it: `token`, for `resource`, an hour long from the epoch (`TestClock`'s start). */
const testToken = (forResource: string, token: string): TokenSource.IssuedToken => ({
  token: Redacted.make(token),
  tokenType: "Bearer",
  resource: forResource,
  expiresOn: DateTime.unsafeMake(3_600_000),
  refreshOn: Option.none()
})

const value = (token: { readonly token: Redacted.Redacted<string> }) => Redacted.value(token.token)

/** Everything a user may print or log of an error. */
const renderings = (error: ManagedIdentityError) => `${error.message}\n${String(error)}\n${JSON.stringify(error)}`

describe("verifyIdentity", () => {
  it.effect("IMDS's one-identity quirk: IdentityMismatch naming both identities, no token text, nothing cached", () =>
    Effect.gen(function*() {
      const wrong = jwt({ appid: "5a5a-other", oid: "0b0b-other", xms_mirid: onlyUserAssigned }, "wrong-signature")
      const right = jwt({ appid: "5a5a-vm", xms_mirid: vm })
      const http = yield* FakeHttp.make([answer(wrong), answer(right)])
      yield* Effect.gen(function*() {
        const error = yield* Effect.flip(getToken)
        assert(error._tag === "IdentityMismatch", error._tag)
        assert.strictEqual(error.source, "Imds")
        assert.strictEqual(error.requested, "the system-assigned identity")
        assert.strictEqual(
          error.received,
          `the user-assigned identity ${onlyUserAssigned} (client id 5a5a-other, object id 0b0b-other)`
        )
        assert.include(error.reason ?? "", "a known IMDS quirk")
        assert.strictEqual(
          error.message,
          `Imds issued a token for ${error.received}, not for the system-assigned identity: ${error.reason}; ` +
            "nothing was cached"
        )
        for (const part of wrong.split(".")) assert.notInclude(renderings(error), part)
        // Nothing was cached: the next call reaches IMDS again and gets the right token, which is cached.
        const second = yield* getToken
        assert.deepStrictEqual([value(second), second.source], [right, "identity_provider"])
        const third = yield* getToken
        assert.deepStrictEqual([value(third), third.source], [right, "cache"])
        assert.strictEqual(yield* http.count, 2)
      }).pipe(Effect.provide(imdsClient(http)))
    }))

  it.effect("a user-assigned identity the token names (any case) is cached: one request for two calls", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([answer(jwt({ appid: "5A5A-CLIENT", xms_mirid: onlyUserAssigned }))])
      const tokens = yield* Effect.all([getToken, getToken]).pipe(
        Effect.provide(imdsClient(http, ManagedIdentity.clientId("5a5a-client")))
      )
      assert.deepStrictEqual(tokens.map((token) => token.source), ["identity_provider", "cache"])
      assert.strictEqual(yield* http.count, 1)
    }))

  it.effect("a client id the token does not carry is a mismatch on every call, each one reaching IMDS", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make([answer(jwt({ appid: "5a5a-other", azp: "5a5a-other" }))])
      const errors = yield* Effect.all([Effect.flip(getToken), Effect.flip(getToken)]).pipe(
        Effect.provide(imdsClient(http, ManagedIdentity.clientId("5a5a-asked")))
      )
      assert.deepStrictEqual(errors.map((error) => error._tag), ["IdentityMismatch", "IdentityMismatch"])
      assert.include(errors[0].message, "client id 5a5a-asked")
      assert.include(errors[0].message, "client id 5a5a-other")
      assert.strictEqual(yield* http.count, 2)
    }))

  const uncheckable = [
    ["not JWT-shaped", "opaque-token"],
    ["a JWT without xms_mirid", jwt({ appid: "5a5a-any" })],
    ["three parts whose middle is not JSON", "a.b.c"]
  ] as const
  for (const [name, token] of uncheckable) {
    it.effect(`a token that cannot be checked (${name}) is served and cached, as doctor calls it unconfirmed`, () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([answer(token)])
        const [first, second] = yield* Effect.all([getToken, getToken]).pipe(Effect.provide(imdsClient(http)))
        assert.deepStrictEqual([value(first), first.source, second.source], [token, "identity_provider", "cache"])
        assert.strictEqual(yield* http.count, 1)
      }))
  }

  it.effect("off by default: the client serves and caches another identity's token", () =>
    Effect.gen(function*() {
      const wrong = jwt({ xms_mirid: onlyUserAssigned })
      const http = yield* FakeHttp.make([answer(wrong)])
      const token = yield* getToken.pipe(
        Effect.provide(
          ManagedIdentityClient.layer.pipe(
            Layer.provide(SourceHarness.layer(ImdsTokenSource.layer(), { http })),
            Layer.provide(TokenCache.layerMemory)
          )
        )
      )
      assert.strictEqual(value(token), wrong)
    }))

  it.effect("a background refresh that gets another identity's token keeps serving the cached one, and says why", () =>
    Effect.gen(function*() {
      const warnings: Array<Record<string, unknown>> = []
      const logger = Logger.make(({ annotations, logLevel }) => {
        if (logLevel.label === "WARN") warnings.push(Object.fromEntries(annotations))
      })
      const right = jwt({ xms_mirid: vm, n: 1 })
      const http = yield* FakeHttp.make([answer(right, 7200), answer(jwt({ xms_mirid: onlyUserAssigned }), 7200)])
      yield* tracked((idle) =>
        Effect.gen(function*() {
          assert.strictEqual(value(yield* getToken), right)
          yield* TestClock.adjust("3600 seconds")
          for (let wave = 0; wave < 3; wave++) {
            const token = yield* getToken
            assert.deepStrictEqual([value(token), token.source], [right, "cache"])
            yield* idle
          }
          assert.strictEqual(yield* http.count, 2)
          assert.strictEqual(warnings.length, 1)
          assert.strictEqual(warnings[0].error, "IdentityMismatch")
          assert.include(String(warnings[0].message), onlyUserAssigned)
        }).pipe(Effect.provide(imdsClient(http)), Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      )
    }))

  it.effect("Azure ML: DEFAULT_IDENTITY_CLIENT_ID's identity answers a system-assigned request; another one fails", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_899_990_000_000)
      const mlAnswer = (appid: string) =>
        FakeHttp.json({ access_token: jwt({ appid, xms_mirid: onlyUserAssigned }), expires_on: 1_900_000_000 })
      const http = yield* FakeHttp.make([mlAnswer("default-1"), mlAnswer("someone-else")])
      const layer = (verifyIdentity: boolean) =>
        ManagedIdentityClient.layerWithOptions({ verifyIdentity }).pipe(
          Layer.provide(
            SourceHarness.layer(
              MachineLearningTokenSource.layer({
                endpoint: "http://127.0.0.1:46808/MSI/auth",
                secret: Redacted.make("ml-secret"),
                defaultClientId: "default-1"
              }),
              { http }
            )
          ),
          Layer.provide(TokenCache.layerMemory)
        )
      assert.strictEqual((yield* getToken.pipe(Effect.provide(layer(true)))).source, "identity_provider")
      const error = yield* Effect.flip(getToken.pipe(Effect.provide(layer(true))))
      assert(error._tag === "IdentityMismatch", error._tag)
      assert.include(error.received, "client id someone-else")
    }))

  it.effect("workload identity: a system-assigned identity is the source's AZURE_CLIENT_ID, not the host's identity", () =>
    Effect.gen(function*() {
      const answers = [jwt({ appid: "WL-CLIENT", xms_mirid: onlyUserAssigned }), jwt({ appid: "not-wl" })]
      const next = scriptedAnswer(answers)
      const client = ManagedIdentityClient.layerWithOptions({ verifyIdentity: true }).pipe(
        Layer.provide(TokenSource.layerTest({
          kind: "WorkloadIdentity",
          defaultClientId: "wl-client",
          getToken: (request) => Effect.map(next, (token) => testToken(request.resource, token))
        })),
        Layer.provide(TokenCache.layerMemory)
      )
      yield* Effect.gen(function*() {
        const { getToken: get } = yield* ManagedIdentityClient.ManagedIdentityClient
        assert.strictEqual((yield* get(resource)).source, "identity_provider")
        const error = yield* Effect.flip(get("https://storage.azure.com"))
        assert(error._tag === "IdentityMismatch", error._tag)
        assert.strictEqual(error.requested, "client id wl-client (AZURE_CLIENT_ID)")
        assert.strictEqual(error.received, "an identity (client id not-wl)")
        assert.include(error.reason ?? "", "AZURE_CLIENT_ID")
      }).pipe(Effect.provide(client))
    }))

  it.effect.prop(
    "any claims, any identity, any source: a token or IdentityMismatch, never a defect; the error is printable and shows no token",
    {
      generated: fc.record({
        kind: fc.constantFrom(...TokenSource.SourceKind.literals),
        identity: Arbitrary.make(ManagedIdentity.Identity),
        echo: fc.boolean(),
        defaultClientId: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        payload: fc.oneof(
          fc.record({
            appid: fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.jsonValue()),
            azp: fc.string({ unit: "binary", maxLength: 40 }),
            oid: fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.integer()),
            xms_mirid: fc.oneof(
              fc.string({ unit: "binary", maxLength: 80 }),
              fc.string({ maxLength: 20 }).map((name) =>
                `${providers}/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`
              )
            )
          }, { requiredKeys: [] }),
          fc.jsonValue()
        ),
        raw: fc.option(fc.string({ unit: "binary", maxLength: 60 }), { nil: undefined })
      })
    },
    ({ generated: { defaultClientId, echo, identity, kind, payload, raw } }) =>
      Effect.gen(function*() {
        const id = identity._tag === "SystemAssigned" ? defaultClientId : identity.id
        const claims = echo && id !== undefined ? { appid: id, oid: id, xms_mirid: id } : payload
        const token = raw ?? jwt(claims as object, "generated-signature")
        const exit = yield* getToken.pipe(
          Effect.provide(
            ManagedIdentityClient.layerWithOptions({ verifyIdentity: true }).pipe(
              Layer.provide(TokenSource.layerTest({
                kind,
                identity,
                defaultClientId,
                getToken: (request) => Effect.succeed(testToken(request.resource, token))
              })),
              Layer.provide(TokenCache.layerMemory)
            )
          ),
          Effect.exit
        )
        if (exit._tag === "Success") {
          assert.strictEqual(value(exit.value), token)
          return
        }
        assert(exit.cause._tag === "Fail", "a defect or interruption")
        const error = exit.cause.error
        assert(error._tag === "IdentityMismatch", error._tag)
        assert.strictEqual(error.message, printable(error.message))
        if (token.length > 20) assert.notInclude(renderings(error), token)
      })
  )
})
