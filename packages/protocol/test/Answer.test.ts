import { assert, describe, it } from "@effect/vitest"
import * as Answer from "../src/Answer.js"
import * as AnswerText from "../src/AnswerText.js"

const now = Date.UTC(2026, 0, 1)

describe("error answers", () => {
  it("a Service Fabric error code named like an Object property (constructor, __proto__) maps to invalid_request", () => {
    for (const code of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const answer = { status: 400, headers: {}, body: JSON.stringify({ error: { code } }), secrets: [] }
      const problem = Answer.failed("ServiceFabric", answer, now)
      assert.strictEqual(problem.error, "invalid_request", code)
      assert.strictEqual(problem.description, code)
    }
  })

  it("each known error shape keeps its fields: OAuth, App Service, Service Fabric (codes mapped)", () => {
    const failed = (body: unknown) =>
      Answer.failed(
        "Imds",
        { status: 400, headers: { "retry-after": "7" }, body: JSON.stringify(body), secrets: [] },
        now
      )
    assert.deepInclude(failed({ error: "invalid_request", error_description: "Identity not found", trace_id: "t" }), {
      error: "invalid_request",
      description: "Identity not found",
      traceId: "t",
      retryAfter: 7
    })
    assert.deepInclude(failed({ statusCode: 400, message: "Unable to load the proper Managed Identity." }), {
      error: undefined,
      description: "Unable to load the proper Managed Identity."
    })
    assert.deepInclude(failed({ error: { code: "SecretHeaderNotFound", message: "no secret", correlationId: "c" } }), {
      error: "unauthorized_client",
      description: "SecretHeaderNotFound: no secret",
      correlationId: "c"
    })
    assert.strictEqual(failed({ unknown: "shape" }).description, "the body is JSON in no known error shape (not shown)")
  })

  it("answer text is scrubbed of the request's secrets (whole, encoded, or 32 characters of them) and capped", () => {
    const secret = "the-request-secret-0123456789-abcdefghijklmnopqrstuvwxyz+/="
    for (const echo of [secret, encodeURIComponent(secret), JSON.stringify(secret), secret.slice(5, 45)]) {
      const scrubbed = AnswerText.scrub([secret], `before ${echo} after`)
      assert.include(scrubbed, "<redacted>")
      assert.notInclude(scrubbed, secret.slice(5, 40))
    }
    assert.strictEqual(AnswerText.scrub([], "d".repeat(16_000)), `${"d".repeat(2048)}…`)
  })
})
