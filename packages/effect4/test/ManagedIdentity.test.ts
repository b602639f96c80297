import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Equal, Result, Schema } from "effect"
import * as ManagedIdentity from "../src/ManagedIdentity.js"
import { failureOf } from "./utils/exits.js"

const decode = Schema.decodeUnknownResult(ManagedIdentity.FromMsalJson)

const fromEnv = (env: ReadonlyArray<readonly [string, string]>) =>
  Effect.provide(ManagedIdentity.ManagedIdentity, ManagedIdentity.layerFromJson("MY_VAR")).pipe(
    Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(Object.fromEntries(env))))
  )

describe("ManagedIdentity", () => {
  describe("fromMsalJson", () => {
    const accepted: ReadonlyArray<readonly [string, ManagedIdentity.Identity]> = [
      [`{"ManagedIdentityIdType":"SystemAssigned","Id":null}`, ManagedIdentity.systemAssigned],
      [`{"ManagedIdentityIdType":"SystemAssigned"}`, ManagedIdentity.systemAssigned],
      [
        `{"ManagedIdentityIdType":"ClientId","Id":"11111111-2222-3333-4444-555555555555"}`,
        ManagedIdentity.clientId(
          "11111111-2222-3333-4444-555555555555"
        )
      ],
      [
        `{"ManagedIdentityIdType":"ResourceId","Id":"/subscriptions/s/resourceGroups/g/providers/x/ua"}`,
        ManagedIdentity
          .resourceId("/subscriptions/s/resourceGroups/g/providers/x/ua")
      ],
      [
        `{"ManagedIdentityIdType":"ObjectId","Id":" 99999999-8888-7777-6666-555555555555 "}`,
        ManagedIdentity.objectId(
          "99999999-8888-7777-6666-555555555555"
        )
      ]
    ]
    for (const [json, expected] of accepted) {
      it.effect(`accepts ${json}`, () =>
        Effect.gen(function*() {
          const identity = yield* ManagedIdentity.fromMsalJson(json)
          assert.strictEqual(identity._tag, expected._tag)
          assert.isTrue(Equal.equals(identity, expected))
          assert.isTrue(Result.isSuccess(decode(json)))
        }))
    }

    const rejected: ReadonlyArray<readonly [string, string, string]> = [
      ["unknown keys only", `{"foo":"bar"}`, `["foo"]`],
      [
        "an unknown type",
        `{"ManagedIdentityIdType":"UserAssigned","Id":"abc"}`,
        `["ManagedIdentityIdType"]: expected "SystemAssigned" or "ClientId"`
      ],
      ["a user-assigned type with an empty Id", `{"ManagedIdentityIdType":"ClientId","Id":""}`, "needs a non-empty Id"],
      [
        "a user-assigned type with a whitespace Id",
        `{"ManagedIdentityIdType":"ResourceId","Id":"   "}`,
        "needs a non-empty Id"
      ],
      ["a user-assigned type without Id", `{"ManagedIdentityIdType":"ObjectId"}`, "needs a non-empty Id"],
      ["a user-assigned type with a null Id", `{"ManagedIdentityIdType":"ClientId","Id":null}`, "needs a non-empty Id"],
      ["a non-string Id", `{"ManagedIdentityIdType":"ClientId","Id":42}`, `["Id"]`],
      ["non-JSON", `ClientId=abc`, "is not valid JSON"],
      ["a JSON array", `["ClientId","abc"]`, "expected a JSON object"],
      ["extra keys", `{"ManagedIdentityIdType":"ClientId","Id":"abc","Tenant":"t"}`, `["Tenant"]`],
      ["a system-assigned type with an Id", `{"ManagedIdentityIdType":"SystemAssigned","Id":"abc"}`, "takes no Id"]
    ]
    for (const [name, json, detail] of rejected) {
      it.effect(`rejects ${name} with InvalidIdentity`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(ManagedIdentity.fromMsalJson(json))
          assert.strictEqual(error._tag, "InvalidIdentity")
          assert.strictEqual(error.source, "Detection")
          assert.include(error.message, "ManagedIdentityIdType")
          assert.include(error.message, detail)
          assert.isTrue(Result.isFailure(decode(json)), "FromMsalJson rejects it too")
        }))
    }
  })

  describe("fromMsalJson with hostile input (issue 11, defect 2)", () => {
    const deepArray = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
    const deepObject = (depth: number) => `{"a":`.repeat(depth) + "1" + "}".repeat(depth)
    for (const depth of [5_000, 30_000]) {
      const inputs: ReadonlyArray<readonly [string, string]> = [
        ["the whole value", deepArray(depth)],
        ["ManagedIdentityIdType", `{"ManagedIdentityIdType":${deepArray(depth)},"Id":"abc"}`],
        ["Id", `{"ManagedIdentityIdType":"ClientId","Id":${deepObject(depth)}}`],
        ["an unknown key", `{"ManagedIdentityIdType":"ClientId","Id":"abc","x":${deepArray(depth)}}`]
      ]
      for (const [where, json] of inputs) {
        it.effect(`${where} nested ${depth} deep: InvalidIdentity naming the field, not a RangeError`, () =>
          Effect.gen(function*() {
            const exit = yield* Effect.exit(ManagedIdentity.fromMsalJson(json))
            const error = failureOf(exit)
            assert.strictEqual(error._tag, "InvalidIdentity")
            assert.isBelow(error.message.length, 400)
            if (where !== "the whole value") {
              assert.include(error.message, where === "an unknown key" ? `["x"]` : where)
            }
          }))
      }
    }

    const marker = "zz-received-value"
    const echoes: ReadonlyArray<readonly [string, string]> = [
      ["an unknown type", `{"ManagedIdentityIdType":"${marker}","Id":"abc"}`],
      ["an object Id", `{"ManagedIdentityIdType":"ClientId","Id":{"value":"${marker}"}}`],
      ["text that is not JSON", `ClientId=${marker}`],
      ["a JSON string", JSON.stringify(marker)],
      ["an array", JSON.stringify(["ClientId", marker])]
    ]
    for (const [name, json] of echoes) {
      it.effect(`${name}: the message says what was expected, never what was received`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(ManagedIdentity.fromMsalJson(json))
          assert.notInclude(error.message, marker)
          assert.notInclude(JSON.stringify(error), marker)
        }))
    }

    it.effect("layerFromJson with a deeply nested variable fails the layer with InvalidIdentity", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(fromEnv([["MY_VAR", deepArray(20_000)]]))
        assert.strictEqual(error._tag, "InvalidIdentity")
      }))
  })

  describe("FromMsalJson encoding", () => {
    const identities: ReadonlyArray<readonly [ManagedIdentity.Identity, unknown]> = [
      [ManagedIdentity.systemAssigned, { ManagedIdentityIdType: "SystemAssigned", Id: null }],
      [ManagedIdentity.clientId("c"), { ManagedIdentityIdType: "ClientId", Id: "c" }],
      [ManagedIdentity.resourceId("/r"), { ManagedIdentityIdType: "ResourceId", Id: "/r" }],
      [ManagedIdentity.objectId("o"), { ManagedIdentityIdType: "ObjectId", Id: "o" }]
    ]
    for (const [identity, json] of identities) {
      it(`${identity._tag} encodes to MSAL's form and decodes back`, () => {
        const encoded = Schema.encodeSync(ManagedIdentity.FromMsalJson)(identity)
        assert.deepStrictEqual(JSON.parse(encoded), json)
        const decoded = Schema.decodeSync(ManagedIdentity.FromMsalJson)(encoded)
        assert.isTrue(Equal.equals(decoded, identity))
      })
    }
  })

  describe("userAssignedConfig", () => {
    const read = (selector: "ClientId" | "ResourceId" | "ObjectId", value: string | undefined) =>
      Effect.provide(
        ManagedIdentity.ManagedIdentity,
        ManagedIdentity.layerConfig(ManagedIdentity.userAssignedConfig(selector, "AZURE_CLIENT_ID"))
      ).pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ AZURE_CLIENT_ID: value }))),
        Effect.result
      )

    it.effect("trims the id and builds the identity of the selector", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* read("ClientId", " abc "), Result.succeed(ManagedIdentity.clientId("abc")))
        assert.deepStrictEqual(yield* read("ObjectId", "o-1"), Result.succeed(ManagedIdentity.objectId("o-1")))
        assert.deepStrictEqual(yield* read("ResourceId", "/r/1"), Result.succeed(ManagedIdentity.resourceId("/r/1")))
      }))

    it.effect("a blank or missing variable is a ConfigError naming it, never a crash", () =>
      Effect.gen(function*() {
        for (const value of ["", "   ", undefined]) {
          const result = yield* read("ClientId", value)
          assert.isTrue(Result.isFailure(result))
          assert.include(
            String(Result.getFailure(result).pipe((left) => left._tag === "Some" ? left.value : "")),
            "AZURE_CLIENT_ID"
          )
        }
      }))

    it.effect("a blank variable's error names the variable once, not a doubled path", () =>
      Effect.gen(function*() {
        const result = yield* read("ClientId", "  ")
        assert(Result.isFailure(result))
        const message = String(result.failure)
        assert.include(message, "AZURE_CLIENT_ID must hold a non-empty ClientId")
        assert.strictEqual(message.split("AZURE_CLIENT_ID").length, 2, message)
      }))
  })

  describe("layerFromJson", () => {
    it.effect("an unset variable means system-assigned", () =>
      Effect.gen(function*() {
        const identity = yield* fromEnv([])
        assert.strictEqual(identity._tag, "SystemAssigned")
      }))

    it.effect("an empty variable means system-assigned", () =>
      Effect.gen(function*() {
        const identity = yield* fromEnv([["MY_VAR", ""]])
        assert.strictEqual(identity._tag, "SystemAssigned")
      }))

    it.effect("a user-assigned identity from the variable", () =>
      Effect.gen(function*() {
        const identity = yield* fromEnv([["MY_VAR", `{"ManagedIdentityIdType":"ClientId","Id":"abc"}`]])
        assert.isTrue(Equal.equals(identity, ManagedIdentity.clientId("abc")))
      }))

    it.effect("an invalid value fails the layer with InvalidIdentity", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(fromEnv([["MY_VAR", `{"foo":"bar"}`]]))
        assert.strictEqual(error._tag, "InvalidIdentity")
      }))

    it.effect("an invalid value's message starts with the variable it came from", () =>
      Effect.gen(function*() {
        for (const value of [`{"foo":"bar"}`, "not json", `{"ManagedIdentityIdType":"ClientId"}`]) {
          const error = yield* Effect.flip(fromEnv([["MY_VAR", value]]))
          assert(error._tag === "InvalidIdentity")
          assert.match(error.message, /^Detection: MY_VAR: expected MSAL's \{"ManagedIdentityIdType"/)
        }
      }))
  })

  describe("model", () => {
    it("toKey is stable and case-insensitive for ids", () => {
      assert.strictEqual(ManagedIdentity.toKey(ManagedIdentity.systemAssigned), "system")
      assert.strictEqual(ManagedIdentity.toKey(ManagedIdentity.clientId("ABC")), "ClientId:abc")
      assert.notStrictEqual(
        ManagedIdentity.toKey(ManagedIdentity.clientId("abc")),
        ManagedIdentity.toKey(ManagedIdentity.objectId("abc"))
      )
    })

    it.effect("layer and layerSystemAssigned provide the identity", () =>
      Effect.gen(function*() {
        const system = yield* Effect.provide(ManagedIdentity.ManagedIdentity, ManagedIdentity.layerSystemAssigned)
        assert.strictEqual(system._tag, "SystemAssigned")
        const user = yield* Effect.provide(
          ManagedIdentity.ManagedIdentity,
          ManagedIdentity.layer(ManagedIdentity.resourceId("/r"))
        )
        assert.isTrue(Equal.equals(user, ManagedIdentity.resourceId("/r")))
      }))
  })
})
