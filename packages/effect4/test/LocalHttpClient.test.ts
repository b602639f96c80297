import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as AppServiceTokenSource from "../src/AppServiceTokenSource.js"
import * as ImdsTokenSource from "../src/ImdsTokenSource.js"
import * as LocalHttpClient from "../src/LocalHttpClient.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const resource = "https://vault.azure.net"
const token = { access_token: "AT-local-route", expires_in: "3600", resource, token_type: "Bearer" }
const proxy = { HTTP_PROXY: "http://user:pw@proxy.corp:3128", HTTPS_PROXY: "http://proxy.corp:3128" }

/** The requests the app's client and the `LocalHttpClient` got for one token from IMDS at `authorityHost`. */
const sent = (authorityHost: string, env: Record<string, string>, withLocal = true) =>
  Effect.gen(function*() {
    const app = yield* FakeHttp.make([FakeHttp.json(token)])
    const local = yield* FakeHttp.make([FakeHttp.json(token)])
    const source = ImdsTokenSource.layer({ authorityHost }).pipe(
      withLocal ? Layer.provide(Layer.succeed(LocalHttpClient.LocalHttpClient, local.client)) : (layer) => layer
    )
    yield* SourceHarness.getToken(resource).pipe(SourceHarness.provide(source, { http: app, env }))
    return { app: yield* app.count, local: yield* local.count }
  })

describe("LocalHttpClient", () => {
  it.effect("an http request to a loopback or link-local host that a proxy variable catches goes through it", () =>
    Effect.gen(function*() {
      for (
        const host of ["http://169.254.169.254", "http://127.0.0.1:40342", "http://localhost:8081", "http://[::1]:81"]
      ) {
        assert.deepStrictEqual(yield* sent(host, proxy), { app: 0, local: 1 }, host)
      }
      assert.deepStrictEqual(yield* sent("http://169.254.169.254", { all_proxy: "socks5://proxy:1080" }), {
        app: 0,
        local: 1
      })
    }))

  it.effect("everything else goes through the app's HttpClient", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* sent("http://169.254.169.254", {}), { app: 1, local: 0 }, "no proxy variable")
      assert.deepStrictEqual(
        yield* sent("http://169.254.169.254", { ...proxy, NO_PROXY: "169.254.169.254" }),
        { app: 1, local: 0 },
        "NO_PROXY names the host"
      )
      assert.deepStrictEqual(yield* sent("http://imds.example", proxy), { app: 1, local: 0 }, "not a local host")
      assert.deepStrictEqual(yield* sent("https://127.0.0.1:8443", proxy), { app: 1, local: 0 }, "https")
      assert.deepStrictEqual(yield* sent("http://169.254.169.254", proxy, false), { app: 1, local: 0 }, "none given")
    }))

  it.effect("secret-bearing sources route the same way (App Service)", () =>
    Effect.gen(function*() {
      const app = yield* FakeHttp.make([FakeHttp.json({ ...token, expires_on: "1767229200" })])
      const local = yield* FakeHttp.make([FakeHttp.json({ ...token, expires_on: "1767229200" })])
      const env = { ...proxy, IDENTITY_ENDPOINT: "http://localhost:8081/msi/token", IDENTITY_HEADER: "secret-header" }
      yield* SourceHarness.getToken(resource).pipe(
        SourceHarness.provide(
          AppServiceTokenSource.layerConfig().pipe(
            Layer.provide(Layer.succeed(LocalHttpClient.LocalHttpClient, local.client))
          ),
          { http: app, env }
        )
      )
      assert.strictEqual(yield* app.count, 0)
      const [request] = yield* local.requests
      assert.strictEqual(request.urlWithoutQuery, "http://localhost:8081/msi/token")
      assert.strictEqual(request.headers["x-identity-header"], "secret-header")
    }))

  it("isBypassed is Proxy.catchingLocal", () => {
    assert.isTrue(LocalHttpClient.isBypassed("http://169.254.169.254/x", proxy))
    assert.isFalse(LocalHttpClient.isBypassed("http://169.254.169.254/x", { ...proxy, no_proxy: "*" }))
  })
})
