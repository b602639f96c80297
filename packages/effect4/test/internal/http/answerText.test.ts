import { assert, describe, it } from "@effect/vitest"
import { type Config, Effect, type Layer, Redacted } from "effect"
import * as AppServiceTokenSource from "../../../src/AppServiceTokenSource.js"
import * as AzureArcTokenSource from "../../../src/AzureArcTokenSource.js"
import * as MachineLearningTokenSource from "../../../src/MachineLearningTokenSource.js"
import * as ManagedIdentity from "../../../src/ManagedIdentity.js"
import * as ServiceFabricTokenSource from "../../../src/ServiceFabricTokenSource.js"
import type * as TokenSource from "../../../src/TokenSource.js"
import * as WorkloadIdentityTokenSource from "../../../src/WorkloadIdentityTokenSource.js"
import * as FakeFileSystem from "../../utils/fakeFileSystem.js"
import * as FakeHttp from "../../utils/fakeHttp.js"
import * as SourceHarness from "../../utils/sourceHarness.js"

type SourceLayer = Layer.Layer<TokenSource.TokenSource, Config.ConfigError, SourceHarness.Requirements>

describe("answer text in errors (issue 17, item 5)", () => {
  const resource = "https://vault.azure.net"
  const secret = "the-request-secret-0123456789-abcdefghijklmnopqrstuvwxyz+/="
  const assertion = `eyJhbGciOiJSUzI1NiJ9.${"federated-assertion-payload-".repeat(8)}.signature-part-0123456789`
  const tokenFile = "/var/run/secrets/azure/tokens/azure-identity-token"

  /** Every source that sends a secret, and the secret it sends. */
  const sources: ReadonlyArray<readonly [string, SourceLayer, string]> = [
    [
      "App Service (X-IDENTITY-HEADER)",
      AppServiceTokenSource.layer({
        endpoint: "http://127.0.0.1:41234/msi/token",
        identityHeader: Redacted.make(secret)
      }),
      secret
    ],
    [
      "Azure Machine Learning (secret)",
      MachineLearningTokenSource.layer({ endpoint: "http://127.0.0.1:46808/MSI/auth", secret: Redacted.make(secret) }),
      secret
    ],
    [
      "Service Fabric (secret)",
      ServiceFabricTokenSource.layer({
        endpoint: "https://127.0.0.1:2377/metadata/identity/oauth2/token",
        identityHeader: Redacted.make(secret),
        thumbprint: "ab".repeat(20)
      }),
      secret
    ],
    ["Azure Arc (the key)", AzureArcTokenSource.layer({ keyDirectory: "/keys", platform: "linux" }), secret],
    [
      "workload identity (the assertion)",
      WorkloadIdentityTokenSource.layer({ tenantId: "contoso.onmicrosoft.com", tokenFile, clientId: "client" }),
      assertion
    ]
  ]

  /** How an endpoint may echo what it received: verbatim, encoded, or in part. */
  const echoes = (request: FakeHttp.RecordedRequest) => {
    const received = [...Object.values(request.headers), request.body ?? ""]
    return [
      ...received,
      ...received.map(encodeURIComponent),
      ...received.map((text) => JSON.stringify(text)),
      ...received.flatMap((text) => [text.slice(0, 40), text.slice(-40)])
    ].join(" | ")
  }

  /** Answers like `reply` but echoing the request; an Azure Arc challenge first. */
  const echoing = (reply: (echo: string) => FakeHttp.Reply) => (request: FakeHttp.RecordedRequest) =>
    request.headers.authorization === undefined && request.url.includes(":40342")
      ? FakeHttp.json({}, { status: 401, headers: { "www-authenticate": "Basic realm=/tokens/abc.key" } })
      : reply(echoes(request))

  const answers: ReadonlyArray<readonly [string, (echo: string) => FakeHttp.Reply]> = [
    [
      "every field of an OAuth error body",
      (echo) =>
        FakeHttp.json({ error: echo, error_description: echo, correlation_id: echo, trace_id: echo }, { status: 400 })
    ],
    ["App Service's error body", (echo) => FakeHttp.json({ statusCode: 400, message: echo }, { status: 400 })],
    ["Service Fabric's error body", (echo) => FakeHttp.json({ error: { code: echo, message: echo } }, { status: 400 })],
    ["a plain-text error body", (echo) => FakeHttp.text(echo, { status: 400 })]
  ]

  for (const [sourceName, layer, sent] of sources) {
    for (const [answerName, reply] of answers) {
      it.effect(`${sourceName}, ${answerName} echoing the request: the secret is scrubbed from every field`, () =>
        Effect.gen(function*() {
          const http = yield* FakeHttp.make(echoing(reply))
          const fileSystem = FakeFileSystem.make({
            "/keys/abc.key": { content: secret },
            [tokenFile]: { content: assertion }
          })
          const error = yield* Effect.flip(
            SourceHarness.getToken(resource).pipe(SourceHarness.provide(layer, { http, fileSystem }))
          )
          assert(error._tag === "TokenRequestFailed", error.message)
          assert.include(JSON.stringify(error), "<redacted>")
          for (const rendering of [JSON.stringify(error), String(error), error.message]) {
            for (const shown of [sent, encodeURIComponent(sent), sent.slice(0, 40), sent.slice(-40)]) {
              assert.notInclude(rendering, shown)
            }
          }
        }))
    }
  }

  it.effect("Azure Arc's identity echo is answer text too: IdentityNotConfirmed shows no key", () =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make(
        echoing((echo) => FakeHttp.json({ access_token: "AT", expires_in: 3600, client_id: echo }))
      )
      const error = yield* Effect.flip(
        SourceHarness.getToken(resource).pipe(
          SourceHarness.provide(AzureArcTokenSource.layer({ keyDirectory: "/keys", platform: "linux" }), {
            http,
            identity: ManagedIdentity.clientId("expected-client"),
            fileSystem: FakeFileSystem.make({ "/keys/abc.key": { content: secret } })
          })
        )
      )
      assert(error._tag === "IdentityNotConfirmed", error.message)
      assert.include(error.received, "<redacted>")
      assert.notInclude(JSON.stringify(error) + String(error), secret.slice(0, 40))
    }))

  it.effect("answer text is capped at 2048 characters in every field", () =>
    Effect.gen(function*() {
      const long = "d".repeat(16_000)
      const http = yield* FakeHttp.make([
        FakeHttp.json({ error: long, error_description: long, correlation_id: long, trace_id: long }, { status: 400 })
      ])
      const error = yield* Effect.flip(
        SourceHarness.getToken(resource).pipe(SourceHarness.provide(sources[0][1], { http }))
      )
      assert(error._tag === "TokenRequestFailed")
      for (const field of [error.error, error.description, error.correlationId, error.traceId]) {
        assert.strictEqual(field, `${"d".repeat(2048)}…`)
      }
    }))
})
