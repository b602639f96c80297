import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import * as ManagedIdentityError from "../src/ManagedIdentityError.js"

const errors: ReadonlyArray<readonly [ManagedIdentityError.ManagedIdentityError, ReadonlyArray<string>]> = [
  [
    new ManagedIdentityError.InvalidIdentity({ source: "CloudShell", reason: "user-assigned identities are rejected" }),
    ["CloudShell", "user-assigned identities are rejected"]
  ],
  [
    new ManagedIdentityError.SourceUnavailable({
      source: "Imds",
      endpoint: "http://169.254.169.254/metadata/identity/oauth2/token",
      reason: "Transport error ECONNREFUSED"
    }),
    ["Imds", "http://169.254.169.254/metadata/identity/oauth2/token", "ECONNREFUSED"]
  ],
  [
    new ManagedIdentityError.TokenRequestFailed({
      source: "Imds",
      status: 400,
      error: "invalid_request",
      description: "Identity not found",
      retryAfter: 5
    }),
    ["Imds", "400", "invalid_request", "Identity not found"]
  ],
  [
    new ManagedIdentityError.ConnectionFailed({
      source: "AppService",
      endpoint: "http://127.0.0.1:41234/msi/token",
      reason: "Transport error ECONNRESET",
      attempts: 4
    }),
    ["AppService", "http://127.0.0.1:41234/msi/token", "4 attempt", "ECONNRESET"]
  ],
  [
    new ManagedIdentityError.InvalidTokenResponse({
      source: "MachineLearning",
      status: 200,
      reason: "the body is not JSON"
    }),
    ["MachineLearning", "200", "the body is not JSON"]
  ],
  [
    new ManagedIdentityError.AzureArcChallengeFailed({
      source: "AzureArc",
      reason: "the key file is larger than 4096 bytes"
    }),
    ["Azure Arc", "the key file is larger than 4096 bytes"]
  ],
  [
    new ManagedIdentityError.ServiceFabricCertificateMismatch({
      source: "ServiceFabric",
      endpoint: "https://10.0.0.4:2377/metadata/identity/oauth2/token",
      reason: "thumbprint mismatch"
    }),
    ["Service Fabric", "https://10.0.0.4:2377/metadata/identity/oauth2/token", "thumbprint mismatch"]
  ],
  [
    new ManagedIdentityError.IdentityNotConfirmed({ source: "AzureArc", expected: "client_id abc", received: "def" }),
    ["AzureArc", "client_id abc", "def"]
  ],
  [
    new ManagedIdentityError.IdentityNotConfirmed({ source: "AzureArc", expected: "client_id abc" }),
    ["AzureArc", "client_id abc", "no identity in the response"]
  ],
  [
    new ManagedIdentityError.IdentityMismatch({
      source: "Imds",
      requested: "the system-assigned identity",
      received:
        "the user-assigned identity /subscriptions/s/providers/microsoft.managedidentity/userassignedidentities/u",
      reason: "a known IMDS quirk"
    }),
    ["Imds", "the system-assigned identity", "userassignedidentities/u", "a known IMDS quirk", "nothing was cached"]
  ],
  [
    new ManagedIdentityError.Timeout({ source: "Imds", attempts: 3, reason: "no token within the 100s deadline" }),
    ["Imds", "3 attempt", "no token within the 100s deadline"]
  ]
]

describe("ManagedIdentityError", () => {
  for (const [error, texts] of errors) {
    describe(error._tag, () => {
      it("message, String and JSON carry the tag and the meaningful text", () => {
        for (const text of texts) {
          assert.include(error.message, text)
          assert.include(String(error), text)
        }
        assert.isTrue(String(error).startsWith(`${error._tag}: `), String(error))
        const { _tag, ...fields } = JSON.parse(JSON.stringify(error))
        assert.strictEqual(_tag, error._tag)
        assert.isAbove(Object.keys(fields).length, 1)
        for (const [key, value] of Object.entries(fields)) {
          assert.strictEqual(value, (error as unknown as Record<string, unknown>)[key], key)
        }
        assert.include(JSON.stringify(error), error.source)
      })

      it("isManagedIdentityError recognises it", () => {
        assert.isTrue(ManagedIdentityError.isManagedIdentityError(error))
      })

      it.effect("fails an Effect when yielded", () =>
        Effect.gen(function*() {
          const failing: Effect.Effect<never, ManagedIdentityError.ManagedIdentityError> = error
          assert.strictEqual(yield* Effect.flip(failing), error)
        }))
    })
  }

  it("isManagedIdentityError rejects other values", () => {
    assert.isFalse(ManagedIdentityError.isManagedIdentityError(new Error("boom")))
    assert.isFalse(ManagedIdentityError.isManagedIdentityError({ _tag: "Timeout", message: "x" }))
    assert.isFalse(ManagedIdentityError.isManagedIdentityError(undefined))
    assert.isFalse(ManagedIdentityError.isManagedIdentityError("Timeout"))
  })
})

describe("printable (issue 17, item 4)", () => {
  const hostile: ReadonlyArray<readonly [string, string, string]> = [
    ["clear screen", "\u001b[2J\u001b[Hhello", "\\x1b[2J\\x1b[Hhello"],
    [
      "OSC 52 clipboard write",
      "\u001b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u0007",
      "\\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\x07"
    ],
    ["a fake line", "no\r\ndoctor: 0 errors", "no\\r\\ndoctor: 0 errors"],
    ["C1 CSI and DEL", "\u009b31m\u007f", "\\x9b31m\\x7f"],
    ["tab and NUL", "a\tb\u0000", "a\\tb\\x00"],
    ["bidirectional overrides", "abc\u202egnp.exe\u2066x\u2069", "abc\\u202egnp.exe\\u2066x\\u2069"],
    ["line and paragraph separators", "a\u2028b\u2029c", "a\\u2028b\\u2029c"]
  ]
  for (const [name, text, shown] of hostile) {
    it(`escapes ${name}`, () => {
      assert.strictEqual(ManagedIdentityError.printable(text), shown)
    })
  }

  it("leaves printable text alone, backslashes, letters of any script and emoji included, so it can be applied twice", () => {
    for (
      const text of [
        "C:\\ProgramData\\x1b",
        "Schlüssel 鍵 ключ 🔑",
        "AADSTS700024: Client assertion is not within its valid time range."
      ]
    ) {
      assert.strictEqual(ManagedIdentityError.printable(text), text)
    }
    for (const [, text] of hostile) {
      const once = ManagedIdentityError.printable(text)
      assert.strictEqual(ManagedIdentityError.printable(once), once)
    }
  })

  it.prop(
    "any string: the result holds no control, bidirectional or separator character, and applying it again changes nothing",
    [FastCheck.string({ unit: "binary", maxLength: 200 })],
    ([text]) => {
      const shown = ManagedIdentityError.printable(text)
      assert.notMatch(shown, /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u)
      assert.strictEqual(ManagedIdentityError.printable(shown), shown)
    }
  )

  it("every error's message is printable, while its fields keep what was received", () => {
    const description = "\u001b[2J\u001b]52;c;ZXZpbA==\u0007\ndoctor: 0 errors"
    const error = new ManagedIdentityError.TokenRequestFailed({ source: "Imds", status: 400, description })
    assert.strictEqual(error.message, "Imds answered 400: \\x1b[2J\\x1b]52;c;ZXZpbA==\\x07\\ndoctor: 0 errors")
    assert.strictEqual(error.description, description)
    for (const [each] of errors) {
      assert.strictEqual(each.message, ManagedIdentityError.printable(each.message))
    }
    const echoed = new ManagedIdentityError.IdentityNotConfirmed({
      source: "AzureArc",
      expected: "client_id=x",
      received: "client_id=\u001b[31mred"
    })
    assert.include(echoed.message, "client_id=\\x1b[31mred")
    const mismatch = new ManagedIdentityError.IdentityMismatch({
      source: "Imds",
      requested: "client id a",
      received: "an identity (client id b\u001b]52;c;ZXZpbA==\u0007\u202e)"
    })
    assert.strictEqual(
      mismatch.message,
      "Imds issued a token for an identity (client id b\\x1b]52;c;ZXZpbA==\\x07\\u202e), not for client id a; " +
        "nothing was cached"
    )
  })
})
