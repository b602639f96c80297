import { assert, describe, it } from "@effect/vitest"
import * as Endpoint from "../src/Endpoint.js"
import type * as Problem from "../src/Problem.js"
import * as Transport from "../src/Transport.js"

const secret = "transport-identity-header-secret"
const endpoint: Transport.Endpoint = {
  kind: "AppService",
  url: Endpoint.displayUrl("http://127.0.0.1:41234/msi/token")
}

describe("transport failures", () => {
  describe("requests the client refuses to send are InvalidIdentity, never retried", () => {
    const refusals: ReadonlyArray<readonly [string, Transport.Failure]> = [
      [
        "a TypeError of fetch that quotes the header value",
        {
          phase: "Request",
          reason: "Transport",
          cause: new TypeError(`Headers.append: "${secret}\n" is an invalid header value.`)
        }
      ],
      ["a URL the client cannot build", {
        phase: "Request",
        reason: "InvalidUrl",
        cause: new TypeError(`Invalid URL: ${secret}`)
      }]
    ]
    for (const [name, failure] of refusals) {
      it(`${name} is an InvalidIdentity that does not quote it`, () => {
        const problem = Transport.classify(endpoint, 2, failure)
        assert.strictEqual(problem._tag, "InvalidIdentity")
        assert.notInclude(JSON.stringify(problem), secret)
      })
    }

    it("fetch failed with a network cause stays a retryable ConnectionFailed", () => {
      const problem = Transport.classify(endpoint, 2, {
        phase: "Request",
        reason: "Transport",
        cause: new TypeError("fetch failed", { cause: Object.assign(new Error("other side closed"), {}) })
      })
      assert.strictEqual(problem._tag, "ConnectionFailed")
    })
  })

  it("a ResponseError is never a refusal, whatever TypeError it carries", () => {
    const problem = Transport.classify(endpoint, 1, {
      phase: "Response",
      reason: "Decode",
      cause: new TypeError("terminated", {
        cause: Object.assign(new Error("read ECONNREFUSED"), { code: "ECONNREFUSED" })
      })
    })
    assert.strictEqual(problem._tag, "ConnectionFailed")
  })

  it("connection refused is SourceUnavailable on the first attempt, ConnectionFailed after", () => {
    const refused = {
      phase: "Request",
      reason: "Transport",
      cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" })
    } as const
    assert.deepStrictEqual(Transport.classify(endpoint, 1, refused), {
      _tag: "SourceUnavailable",
      source: "AppService",
      endpoint: "http://127.0.0.1:41234/msi/token",
      reason: "Transport error ECONNREFUSED"
    })
    assert.strictEqual(Transport.classify(endpoint, 2, refused)._tag, "ConnectionFailed")
  })

  it("a ServiceFabricCertificateMismatch in the cause chain is that problem", () => {
    const mismatch: Problem.ServiceFabricCertificateMismatch = {
      _tag: "ServiceFabricCertificateMismatch",
      source: "ServiceFabric",
      endpoint: "https://127.0.0.1:2377/",
      reason: "the certificate's SHA-1 thumbprint is not IDENTITY_SERVER_THUMBPRINT"
    }
    const problem = Transport.classify({ kind: "ServiceFabric", url: "https://127.0.0.1:2377/" }, 1, {
      phase: "Request",
      reason: "Transport",
      cause: new TypeError("fetch failed", { cause: mismatch })
    })
    assert.deepStrictEqual(problem, mismatch)
  })
})

describe("endpoint URLs in messages", () => {
  it("show scheme, host, port and path only", () => {
    assert.strictEqual(
      Endpoint.displayUrl("http://user:pass@127.0.0.1:8080/msi/token?sig=abc&x=1#fragment"),
      "http://127.0.0.1:8080/msi/token"
    )
    assert.strictEqual(Endpoint.displayUrl("https://[::1]:443/a%20b"), "https://[::1]/a%20b")
    assert.strictEqual(Endpoint.displayUrl("not a url ?sig=abc"), "(not a URL)")
  })
})
