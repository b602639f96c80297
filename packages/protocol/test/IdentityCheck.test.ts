import { assert, describe, it } from "@effect/vitest"
import { Encoding, FastCheck as fc } from "effect"
import * as Claims from "../src/Claims.js"
import type * as Identity from "../src/Identity.js"
import * as IdentityCheck from "../src/IdentityCheck.js"
import * as Problem from "../src/Problem.js"
import { kinds } from "../src/SourceKind.js"
import { printable } from "../src/Text.js"

const jwt = (claims: unknown) => `e30.${Encoding.encodeBase64Url(JSON.stringify(claims))}.signature-that-nobody-checks`

const userAssigned = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u"
const noHost: IdentityCheck.HostIdentity = { defaultClientId: undefined, workloadClientId: undefined }

const id = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.constantFrom("c1", "C1 ", userAssigned))
const identity: fc.Arbitrary<Identity.Identity> = fc.oneof(
  fc.constant({ _tag: "SystemAssigned" as const }),
  fc.record({ _tag: fc.constantFrom("ClientId" as const, "ResourceId" as const, "ObjectId" as const), id })
)
const claimValue = fc.oneof(id, fc.jsonValue())
const token = fc.oneof(
  fc.record({ appid: claimValue, azp: claimValue, oid: claimValue, xms_mirid: claimValue }, { requiredKeys: [] })
    .map(jwt),
  fc.jsonValue().map(jwt),
  fc.string({ unit: "binary", maxLength: 80 })
)

describe("IdentityCheck.verify", () => {
  it("a mismatch is a problem naming both identities; a match or what cannot be checked is none", () => {
    const system: Identity.Identity = { _tag: "SystemAssigned" }
    const quirk = IdentityCheck.verify("Imds", system, jwt({ appid: "c9", xms_mirid: userAssigned }), noHost)
    assert.deepStrictEqual(quirk && { ...quirk, reason: quirk.reason?.slice(0, 19) }, {
      _tag: "IdentityMismatch",
      source: "Imds",
      requested: "the system-assigned identity",
      received: `the user-assigned identity ${userAssigned} (client id c9)`,
      reason: "a known IMDS quirk:"
    })
    const client: Identity.Identity = { _tag: "ClientId", id: "c1" }
    assert.isUndefined(IdentityCheck.verify("AppService", client, jwt({ appid: "C1" }), noHost))
    assert.isUndefined(IdentityCheck.verify("AppService", client, jwt({ oid: "o1" }), noHost))
    assert.isUndefined(IdentityCheck.verify("AppService", client, "not-a-jwt", noHost))
    assert.isUndefined(
      IdentityCheck.verify("WorkloadIdentity", system, jwt({ appid: "wl", xms_mirid: userAssigned }), {
        defaultClientId: undefined,
        workloadClientId: "wl"
      })
    )
  })

  it.prop(
    "any token, identity and source: the same verdict as check, never a throw, a printable message without the token",
    { kind: fc.constantFrom(...kinds), identity, token, defaultClientId: fc.option(id, { nil: undefined }) },
    ({ defaultClientId, identity, kind, token }) => {
      const host = { defaultClientId, workloadClientId: defaultClientId }
      const problem = IdentityCheck.verify(kind, identity, token, host)
      const { check } = IdentityCheck.check(kind, identity, Claims.read(token), host)
      assert.strictEqual(problem !== undefined, check.verdict === "mismatch")
      if (problem === undefined) return
      const message = Problem.messageOf(problem)
      assert.strictEqual(message, printable(message))
      assert.notInclude(message + JSON.stringify(problem), "signature-that-nobody-checks")
      assert.deepStrictEqual([problem.requested, problem.received], [check.requested, check.received])
    }
  )
})
