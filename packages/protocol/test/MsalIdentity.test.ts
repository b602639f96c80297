import { assert, describe, it } from "@effect/vitest"
import * as Identity from "../src/Identity.js"

const read = (json: string) => Identity.fromMsal(JSON.parse(json))

describe("Identity.fromMsal (MSAL's JSON form)", () => {
  const accepted: ReadonlyArray<readonly [string, Identity.Identity]> = [
    [`{"ManagedIdentityIdType":"SystemAssigned","Id":null}`, { _tag: "SystemAssigned" }],
    [`{"ManagedIdentityIdType":"SystemAssigned"}`, { _tag: "SystemAssigned" }],
    [`{"ManagedIdentityIdType":"SystemAssigned","Id":"  "}`, { _tag: "SystemAssigned" }],
    [`{"ManagedIdentityIdType":"ClientId","Id":"abc"}`, { _tag: "ClientId", id: "abc" }],
    [`{"ManagedIdentityIdType":"ResourceId","Id":"/s/r"}`, { _tag: "ResourceId", id: "/s/r" }],
    [`{"ManagedIdentityIdType":"ObjectId","Id":" o-1 "}`, { _tag: "ObjectId", id: "o-1" }]
  ]
  for (const [json, identity] of accepted) {
    it(`accepts ${json}, and toMsal gives it back`, () => {
      assert.deepStrictEqual(read(json), { _tag: "Ok", value: identity })
      assert.deepStrictEqual(Identity.fromMsal(Identity.toMsal(identity)), { _tag: "Ok", value: identity })
    })
  }

  const rejected: ReadonlyArray<readonly [string, string, string]> = [
    ["unknown keys only", `{"foo":"bar"}`, `["ManagedIdentityIdType"]: is missing; ["foo"]: is not allowed`],
    [
      "an unknown type",
      `{"ManagedIdentityIdType":"UserAssigned","Id":"abc"}`,
      `["ManagedIdentityIdType"]: expected "SystemAssigned" or "ClientId" or "ResourceId" or "ObjectId"`
    ],
    ["an empty Id", `{"ManagedIdentityIdType":"ClientId","Id":""}`, "a ClientId identity needs a non-empty Id"],
    ["a blank Id", `{"ManagedIdentityIdType":"ResourceId","Id":"   "}`, "a ResourceId identity needs a non-empty Id"],
    ["no Id", `{"ManagedIdentityIdType":"ObjectId"}`, "a ObjectId identity needs a non-empty Id"],
    ["a null Id", `{"ManagedIdentityIdType":"ClientId","Id":null}`, "a ClientId identity needs a non-empty Id"],
    ["a number Id", `{"ManagedIdentityIdType":"ClientId","Id":42}`, `["Id"]: expected string or null`],
    ["an array", `["ClientId","abc"]`, "expected a JSON object"],
    ["a string", `"ClientId"`, "expected a JSON object"],
    ["null", `null`, "expected a JSON object"],
    ["extra keys", `{"ManagedIdentityIdType":"ClientId","Id":"abc","Tenant":"t"}`, `["Tenant"]: is not allowed`],
    [
      "a system-assigned Id",
      `{"ManagedIdentityIdType":"SystemAssigned","Id":"abc"}`,
      "a system-assigned identity takes no Id"
    ]
  ]
  for (const [name, json, reason] of rejected) {
    it(`rejects ${name}: ${reason}`, () => {
      assert.deepStrictEqual(read(json), { _tag: "Err", error: reason })
    })
  }

  it("names at most three problems, and a long key cut at 64 characters", () => {
    const long = "k".repeat(100)
    const result = read(JSON.stringify({ a: 1, b: 2, c: 3, d: 4, [long]: 5 }))
    assert(result._tag === "Err")
    assert.strictEqual(result.error.split("; ").length, 3)
    const keyed = read(JSON.stringify({ ManagedIdentityIdType: "ClientId", Id: "x", [long]: 1 }))
    assert.deepStrictEqual(keyed, { _tag: "Err", error: `[${JSON.stringify(`${"k".repeat(64)}…`)}]: is not allowed` })
  })

  it("a deeply nested value is refused at once, never echoed", () => {
    const marker = "zz-received-value"
    const deep = "[".repeat(30_000) + JSON.stringify(marker) + "]".repeat(30_000)
    for (
      const json of [
        deep,
        `{"ManagedIdentityIdType":${deep},"Id":"abc"}`,
        `{"ManagedIdentityIdType":"ClientId","Id":${deep}}`,
        `{"ManagedIdentityIdType":"${marker}","Id":"abc"}`
      ]
    ) {
      const result = read(json)
      assert(result._tag === "Err")
      assert.notInclude(result.error, marker)
      assert.isBelow(result.error.length, 200)
    }
  })
})
