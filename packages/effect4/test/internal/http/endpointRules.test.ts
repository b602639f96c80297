import { assert, describe, it } from "@effect/vitest"
import { type Config, Effect, type Layer } from "effect"
import * as AppServiceTokenSource from "../../../src/AppServiceTokenSource.js"
import * as AzureArcTokenSource from "../../../src/AzureArcTokenSource.js"
import * as CloudShellTokenSource from "../../../src/CloudShellTokenSource.js"
import * as ImdsTokenSource from "../../../src/ImdsTokenSource.js"
import * as MachineLearningTokenSource from "../../../src/MachineLearningTokenSource.js"
import * as ServiceFabricTokenSource from "../../../src/ServiceFabricTokenSource.js"
import type * as TokenSource from "../../../src/TokenSource.js"
import { failureOf } from "../../utils/exits.js"
import * as FakeHttp from "../../utils/fakeHttp.js"
import * as SourceHarness from "../../utils/sourceHarness.js"
import * as Telemetry from "../../utils/telemetry.js"

type SourceLayer = Layer.Layer<TokenSource.TokenSource, Config.ConfigError, SourceHarness.Requirements>

const thumbprint = "ab".repeat(20)
const loopback = "http://127.0.0.1:41234/msi/token"

/** A value no message may hold: the password, query or secret of each setting below. */
const hidden = "hidden-credential-value"

interface Setting {
  readonly name: string
  readonly layer: SourceLayer
  readonly env: Record<string, string>
}

const appService = (endpoint: string, header: string): Setting => ({
  name: "",
  layer: AppServiceTokenSource.layerConfig(),
  env: { IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: header }
})
const machineLearning = (endpoint: string, secret: string): Setting => ({
  name: "",
  layer: MachineLearningTokenSource.layerConfig(),
  env: { MSI_ENDPOINT: endpoint, MSI_SECRET: secret }
})
const serviceFabric = (endpoint: string, header: string): Setting => ({
  name: "",
  layer: ServiceFabricTokenSource.layerConfig(),
  env: { IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: header, IDENTITY_SERVER_THUMBPRINT: thumbprint }
})

/** Settings that can never work (issue 11, defects 6 and 7). */
const neverWork: ReadonlyArray<Setting> = [
  {
    ...appService(`http://user:${hidden}@127.0.0.1:41234/msi/token`, "h"),
    name: "App Service endpoint with a password"
  },
  { ...appService(loopback, `${hidden}\r\nX-Injected: 1`), name: "App Service IDENTITY_HEADER with CR LF" },
  { ...appService(loopback, `${hidden}\n`), name: "App Service IDENTITY_HEADER with a trailing LF" },
  { ...appService(loopback, `${hidden}\u0000`), name: "App Service IDENTITY_HEADER with NUL" },
  { ...appService(loopback, `${hidden}\u0100`), name: "App Service IDENTITY_HEADER beyond Latin-1" },
  { ...appService(loopback, `${hidden}\u{1F511}`), name: "App Service IDENTITY_HEADER with an emoji" },
  { ...machineLearning(`http://${hidden}@localhost:46808/MSI/auth`, "s"), name: "MSI_ENDPOINT with a user name" },
  { ...machineLearning("http://127.0.0.1:46808/MSI/auth", `${hidden}\r`), name: "MSI_SECRET with CR" },
  {
    ...serviceFabric(`https://u:${hidden}@10.0.0.4:2377/metadata/identity/oauth2/token`, "s"),
    name: "Service Fabric endpoint with a password"
  },
  {
    ...serviceFabric("https://10.0.0.4:2377/metadata/identity/oauth2/token", `${hidden}\u0000`),
    name: "Service Fabric IDENTITY_HEADER with NUL"
  },
  {
    name: "Cloud Shell MSI_ENDPOINT with a password",
    layer: CloudShellTokenSource.layerConfig(),
    env: { MSI_ENDPOINT: `http://u:${hidden}@localhost:50342/oauth2/token` }
  },
  {
    name: "Azure Arc IDENTITY_ENDPOINT with a password",
    layer: AzureArcTokenSource.layerConfig({ keyDirectory: "/keys", platform: "linux" }),
    env: { IDENTITY_ENDPOINT: `http://u:${hidden}@localhost:40342/metadata/identity/oauth2/token` }
  },
  ...[
    `not a URL ${hidden}`,
    "169.254.169.254",
    `ftp://${hidden}.example/`,
    `http://u:${hidden}@127.0.0.1:8080`,
    "http://[::1"
  ].map((host): Setting => ({
    name: `AZURE_POD_IDENTITY_AUTHORITY_HOST=${JSON.stringify(host)}`,
    layer: ImdsTokenSource.layerConfig(),
    env: { AZURE_POD_IDENTITY_AUTHORITY_HOST: host }
  }))
]

describe("endpoint rules", () => {
  describe("settings that can never work are InvalidIdentity at once: no request, no retry, no value shown", () => {
    for (const { env, layer, name } of neverWork) {
      it.effect(name, () =>
        Effect.gen(function*() {
          const http = yield* FakeHttp.make([FakeHttp.json({ access_token: "AT", expires_in: 3600 })])
          const exit = yield* Effect.exit(SourceHarness.getToken("r").pipe(SourceHarness.provide(layer, { http, env })))
          const error = failureOf(exit)
          assert.strictEqual(error._tag, "InvalidIdentity")
          assert.notInclude(JSON.stringify(error), hidden)
          assert.notInclude(error.message, hidden)
          assert.strictEqual(yield* http.count, 0)
        }))
    }

    it.effect("Latin-1 secrets (é, ÿ, tabs) are sent as they are", () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.json({ access_token: "AT", expires_in: 3600 })])
        const header = "s\u00e9cret\u00ff\tvalue"
        const { env, layer } = appService(loopback, header)
        yield* SourceHarness.getToken("r").pipe(SourceHarness.provide(layer, { http, env }))
        const [request] = yield* http.requests
        assert.strictEqual(request.headers["x-identity-header"], header)
      }))
  })

  describe("endpoint URLs in messages, logs and spans show scheme, host, port and path only (issue 11, defect 6)", () => {
    const endpoint = `http://127.0.0.1:41234/msi/token?sig=${hidden}&sv=2020`
    const failures: ReadonlyArray<readonly [string, FakeHttp.Reply, string]> = [
      ["connection refused: SourceUnavailable", FakeHttp.refused, "SourceUnavailable"],
      [
        "a reset on every attempt: ConnectionFailed",
        FakeHttp.transportError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })),
        "ConnectionFailed"
      ]
    ]
    for (const [name, reply, tag] of failures) {
      it.effect(`an IDENTITY_ENDPOINT with a query, ${name}`, () =>
        Effect.gen(function*() {
          const capture = yield* Telemetry.make
          const http = yield* FakeHttp.make([reply])
          const { env, layer } = appService(endpoint, "h")
          const error = yield* Effect.flip(
            SourceHarness.getToken("r").pipe(
              SourceHarness.provide(layer, { http, env }),
              SourceHarness.advancing("60 seconds"),
              Effect.provide(capture.layer)
            )
          )
          assert.strictEqual(error._tag, tag)
          assert.include(error.message, "http://127.0.0.1:41234/msi/token")
          const everything = Telemetry.serialise([error, error.message, capture.everything()])
          assert.notInclude(everything, hidden)
          assert.notInclude(everything, "sv=2020")
          assert.isAbove(capture.logs.length, 0)
        }))
    }
  })
})
