/**
 * Proxy immunity on the Effect 4 line, against the emulator and a recording proxy on loopback: with every proxy
 * variable set and the app's own `HttpClient` sending through that proxy, tokens from loopback and link-local
 * endpoints still arrive and the proxy sees nothing, because `NodeManagedIdentity.layerPlatform`'s `LocalHttpClient`
 * sends them directly. On Node 24 with `NODE_USE_ENV_PROXY=1` (`MANAGED_IDENTITY_TEST_NODE24`, which `.ci/run` sets),
 * the same in a child process whose own `fetch` is proxy-aware.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Emulator from "@managed-identity/conformance/Emulator"
import * as RecordingProxy from "@managed-identity/conformance/RecordingProxy"
import type { TokenSource } from "@managed-identity/effect4"
import {
  ImdsTokenSource,
  ManagedIdentity,
  ManagedIdentityClient,
  ManagedIdentitySource,
  RetryPolicy,
  TokenCache
} from "@managed-identity/effect4"
import { ConfigProvider, Effect, Layer, Result, Schedule } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { EnvHttpProxyAgent } from "undici"
import * as NodeManagedIdentity from "../src/NodeManagedIdentity.js"

const vault = "https://vault.azure.net"
/** The sources whose endpoint is `http` on a loopback or link-local host. */
const localSources = ["Imds", "AppService", "AzureArc", "CloudShell", "MachineLearning"] as const
const requestsPerToken = (kind: Emulator.SourceKind) => kind === "AzureArc" ? 2 : 1
/** The path and query of IMDS's token request for `vault`, system-assigned. */
const imdsTokenPath = `/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(vault)}`

/** The emulator and the recording proxy, for one test's scope. */
const setup = Effect.all({
  handle: Effect.acquireRelease(Effect.promise(() => Emulator.start()), (handle) => Effect.promise(handle.close)),
  proxy: Effect.acquireRelease(Effect.promise(RecordingProxy.start), (proxy) => Effect.promise(proxy.close))
})

const requestCount = (handle: Emulator.Handle, kind: Emulator.SourceKind) =>
  Effect.promise(() => handle.requests(kind).then((requests) => requests.length))

/** An app's own `HttpClient` that sends everything through `proxy` (undici's `EnvHttpProxyAgent`, as Node 24's is). */
const proxyingClient = (proxy: RecordingProxy.RecordingProxy) =>
  Effect.acquireRelease(
    Effect.sync(() => new EnvHttpProxyAgent({ httpProxy: proxy.url, httpsProxy: proxy.url, noProxy: "" })),
    (agent) => Effect.promise(() => agent.destroy())
  ).pipe(Effect.flatMap((agent) => Effect.provideService(NodeHttpClient.makeUndici, NodeHttpClient.Dispatcher, agent)))

/** The client over `source`, on `platform`. */
const clientLayer = <E, R, E2>(
  source: Layer.Layer<TokenSource.TokenSource, E, R>,
  platform: Layer.Layer<Exclude<R, ManagedIdentity.ManagedIdentity>, E2>
) =>
  ManagedIdentityClient.layer.pipe(
    Layer.provide(source),
    Layer.provide(TokenCache.layerMemory),
    Layer.provide(ManagedIdentity.layerSystemAssigned),
    Layer.provide(platform)
  )

/** `NodeManagedIdentity.layerPlatform` with the app's own `HttpClient` instead of its `fetch` client. */
const besideThePlatform = (app: HttpClient.HttpClient) =>
  Layer.merge(NodeManagedIdentity.layerPlatform, Layer.succeed(HttpClient.HttpClient, app))

const withEnv = (env: Record<string, string>) => Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))

const getToken = Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken(vault))

describe("proxy immunity (Effect 4): the app's own HttpClient sends through a proxy", () => {
  for (const kind of localSources) {
    it.live(`${kind}: the token request reaches the emulator directly, the proxy sees nothing`, () =>
      Effect.gen(function*() {
        const { handle, proxy } = yield* setup
        const app = yield* proxyingClient(proxy)
        const options = { azureArcKeyDirectory: handle.emulator.arcKeyDirectory, retrySchedule: RetryPolicy.none }
        const token = yield* getToken.pipe(
          Effect.provide(clientLayer(ManagedIdentitySource.layerWithOptions(options), besideThePlatform(app))),
          withEnv({ ...handle.env(kind), ...RecordingProxy.environment(proxy) })
        )
        assert.deepStrictEqual([token.source, token.resource], ["identity_provider", vault])
        assert.strictEqual(yield* requestCount(handle, kind), requestsPerToken(kind))
        assert.deepStrictEqual(proxy.seen(), [])
      }).pipe(Effect.scoped))
  }

  it.live("without a LocalHttpClient (effect4 alone) the app's client is used, and the proxy gets the request", () =>
    Effect.gen(function*() {
      const { handle, proxy } = yield* setup
      const app = yield* proxyingClient(proxy)
      const authorityHost = handle.env("Imds").AZURE_POD_IDENTITY_AUTHORITY_HOST
      const source = ImdsTokenSource.layer({ authorityHost, retrySchedule: Schedule.recurs(0) })
      const result = yield* getToken.pipe(
        Effect.provide(clientLayer(source, Layer.succeed(HttpClient.HttpClient, app))),
        withEnv(RecordingProxy.environment(proxy)),
        Effect.result
      )
      assert.isTrue(Result.isFailure(result))
      assert.strictEqual(yield* requestCount(handle, "Imds"), 0)
      assert.deepStrictEqual(proxy.seen(), [`GET ${authorityHost}${imdsTokenPath}`])
    }).pipe(Effect.scoped))

  it.live("a host that is not loopback or link-local still goes through the app's client and its proxy", () =>
    Effect.gen(function*() {
      const { proxy } = yield* setup
      const app = yield* proxyingClient(proxy)
      const source = ImdsTokenSource.layer({ authorityHost: "http://imds.invalid", retrySchedule: Schedule.recurs(0) })
      const result = yield* getToken.pipe(
        Effect.provide(clientLayer(source, besideThePlatform(app))),
        withEnv(RecordingProxy.environment(proxy)),
        Effect.result
      )
      assert.isTrue(Result.isFailure(result))
      assert.deepStrictEqual(proxy.seen(), [`GET http://imds.invalid${imdsTokenPath}`])
    }).pipe(Effect.scoped))
})

describe("the direct transport answers as the app's client would (the app's client sends through the proxy)", () => {
  const retrySchedule = Schedule.max([Schedule.spaced("50 millis"), Schedule.recurs(3)])
  const cases: ReadonlyArray<readonly [string, Emulator.FaultStep, string, number]> = [
    [
      "a redirect is refused, not followed",
      { status: 302, headers: { location: "http://127.0.0.1:9/x" } },
      "TokenRequestFailed",
      1
    ],
    ["an answer over 64 KiB is refused", { oversized: true }, "InvalidTokenResponse", 1],
    ["a reset is retried", { reset: true }, "token", 2],
    ["a body cut short is retried", { truncated: true }, "token", 2],
    ["a 500 is retried", { status: 500 }, "token", 2]
  ]
  for (const [name, step, outcome, requests] of cases) {
    it.live(`App Service: ${name}, and the proxy sees nothing`, () =>
      Effect.gen(function*() {
        const { handle, proxy } = yield* setup
        yield* Effect.promise(() => handle.setFaults("AppService", [step]))
        const app = yield* proxyingClient(proxy)
        const source = ManagedIdentitySource.layerWithOptions({ retrySchedule })
        const result = yield* getToken.pipe(
          Effect.provide(clientLayer(source, besideThePlatform(app))),
          withEnv({ ...handle.env("AppService"), ...RecordingProxy.environment(proxy) }),
          Effect.result
        )
        assert.strictEqual(Result.isSuccess(result) ? "token" : result.failure._tag, outcome)
        assert.strictEqual(yield* requestCount(handle, "AppService"), requests)
        assert.deepStrictEqual(proxy.seen(), [])
      }).pipe(Effect.scoped))
  }
})

describe("diagnose with proxy variables set", () => {
  const diagnose = (handle: Emulator.Handle, env: Record<string, string>) =>
    ManagedIdentitySource.diagnose({}).pipe(
      Effect.provide(TokenCache.layerMemory),
      Effect.provide(ManagedIdentity.layerSystemAssigned),
      Effect.provide(NodeManagedIdentity.layerPlatform),
      withEnv({ ...handle.env("Imds"), ...env }),
      Effect.orDie
    )

  it.live("proxy.bypassed names the variables and their proxies, never the proxy's user name or password", () =>
    Effect.gen(function*() {
      const { handle, proxy } = yield* setup
      const report = yield* diagnose(handle, { HTTP_PROXY: proxy.url, all_proxy: proxy.url, HTTPS_PROXY: proxy.url })
      const found = report.findings.filter((finding) => finding.code.startsWith("proxy."))
      const shown = `http://${new URL(proxy.url).host}`
      const endpoint = `${handle.env("Imds").AZURE_POD_IDENTITY_AUTHORITY_HOST}/metadata/identity/oauth2/token`
      assert.deepStrictEqual(found, [{
        level: "ok",
        code: "proxy.bypassed",
        message: `HTTP_PROXY (${shown}), all_proxy (${shown}) would send requests to ${endpoint} through a proxy, ` +
          "which cannot reach that host: they go directly, around it"
      }])
      assert.isTrue(report.findings.some((finding) => finding.code === "token.received"))
      assert.notInclude(JSON.stringify(report.findings), "proxy-secret")
      assert.notInclude(JSON.stringify(report.findings), "proxy-user")
      assert.deepStrictEqual(proxy.seen(), [])
    }).pipe(Effect.scoped))

  it.live("no proxy finding when NO_PROXY names the host, or no proxy variable is set", () =>
    Effect.gen(function*() {
      const { handle, proxy } = yield* setup
      for (const env of [{ HTTP_PROXY: proxy.url, NO_PROXY: "localhost,127.0.0.1" }, {}]) {
        const report = yield* diagnose(handle, env)
        assert.deepStrictEqual(report.findings.filter((finding) => finding.code.startsWith("proxy.")), [])
        assert.isTrue(report.findings.some((finding) => finding.code === "token.received"))
      }
    }).pipe(Effect.scoped))
})

/** Node 24's binary (`.ci/run` sets `MANAGED_IDENTITY_TEST_NODE24`); without it the child process tests are skipped. */
const node24 = process.env.MANAGED_IDENTITY_TEST_NODE24 ?? ""
const root = Path.resolve(import.meta.dirname, "../../..")
const child = Path.join(import.meta.dirname, "utils", "proxyChild.ts")

/** Runs Node 24 with `args`, `NODE_USE_ENV_PROXY=1`, `env` and `PATH` only; its exit code and output. */
const runNode24 = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.callback<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resume) => {
    const process_ = ChildProcess.execFile(
      node24,
      args,
      { cwd: root, timeout: 20_000, env: { PATH: process.env.PATH ?? "", NODE_USE_ENV_PROXY: "1", ...env } },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }))
    )
    return Effect.sync(() => process_.kill())
  })

describe.skipIf(node24 === "" || !Fs.existsSync(node24))(
  node24 === ""
    ? "proxy immunity on Node 24 with NODE_USE_ENV_PROXY=1 (skipped: MANAGED_IDENTITY_TEST_NODE24 names no binary)"
    : "proxy immunity on Node 24 with NODE_USE_ENV_PROXY=1",
  () => {
    it.live("Node 24's own fetch does send a loopback request to the proxy (so the test can fail)", () =>
      Effect.gen(function*() {
        const { handle, proxy } = yield* setup
        const url = `${handle.env("Imds").AZURE_POD_IDENTITY_AUTHORITY_HOST}/metadata/identity/oauth2/token`
        const script = `await fetch(${JSON.stringify(url)}).then((r) => r.status, () => "failed")`
        yield* runNode24(["--input-type=module", "-e", script], RecordingProxy.environment(proxy))
        assert.strictEqual(yield* requestCount(handle, "Imds"), 0)
        assert.isTrue(proxy.seen().length >= 1)
      }).pipe(Effect.scoped))

    for (const kind of ["Imds", "AppService", "CloudShell", "MachineLearning", "ServiceFabric"] as const) {
      it.live(`${kind}: NodeManagedIdentity's token reaches the emulator directly, the proxy sees nothing`, () =>
        Effect.gen(function*() {
          const { handle, proxy } = yield* setup
          const outcome = yield* runNode24(
            ["--import", "tsx", child],
            { ...handle.env(kind), ...RecordingProxy.environment(proxy) }
          )
          assert.strictEqual(outcome.code, 0, outcome.stderr)
          assert.deepStrictEqual(JSON.parse(outcome.stdout), { source: "identity_provider", resource: vault })
          assert.strictEqual(yield* requestCount(handle, kind), 1)
          assert.deepStrictEqual(proxy.seen(), [])
        }).pipe(Effect.scoped))
    }
  }
)
