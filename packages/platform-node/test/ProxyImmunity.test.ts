import { HttpClient } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import {
  ImdsTokenSource,
  ManagedIdentity,
  ManagedIdentityClient,
  ManagedIdentitySource,
  TokenCache
} from "@managed-identity/core"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { claimsOf } from "@managed-identity/test-utils/Jwt"
import { ConfigProvider, Effect, Layer, Schedule } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { EnvHttpProxyAgent } from "undici"
import { formatDiagnosis } from "../src/cli/doctor.js"
import * as NodeManagedIdentity from "../src/NodeManagedIdentity.js"
import { getToken } from "./utils/emulatorStack.js"
import { run } from "./utils/nodeProcess.js"
import * as RecordingProxy from "./utils/recordingProxy.js"

const vault = "https://vault.azure.net"
/** The sources whose endpoint is `http` on a loopback or link-local host. */
const localSources = ["Imds", "AppService", "AzureArc", "CloudShell", "MachineLearning"] as const
const requestsPerToken = (kind: ManagedIdentityEmulator.SourceKind) => kind === "AzureArc" ? 2 : 1

const proxyEnv = RecordingProxy.environment

/** The emulator and the proxy, for one test. */
const setup = Effect.zip(Layer.build(ManagedIdentityEmulator.layer()), RecordingProxy.make).pipe(
  Effect.map(([context, proxy]) => ({
    emulator: context.unsafeMap.get(
      ManagedIdentityEmulator.ManagedIdentityEmulator.key
    ) as ManagedIdentityEmulator.Emulator,
    proxy
  }))
)

/** An app's own `HttpClient` that sends everything through `proxy` (undici's `EnvHttpProxyAgent`, as Node 24's is). */
const proxyingClient = (proxy: RecordingProxy.RecordingProxy) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => new EnvHttpProxyAgent({ httpProxy: proxy.url, httpsProxy: proxy.url, noProxy: "" })),
      (agent) => Effect.promise(() => agent.destroy())
    ),
    (agent) => NodeHttpClient.makeUndici(agent)
  )

/** The client over the detected source, with the app's own `HttpClient` beside `NodeManagedIdentity.layerPlatform`. */
const besideThePlatform = (app: HttpClient.HttpClient, options: ManagedIdentitySource.Options) =>
  ManagedIdentityClient.layer.pipe(
    Layer.provide(ManagedIdentitySource.layerWithOptions(options)),
    Layer.provide(TokenCache.layerMemory),
    Layer.provide(ManagedIdentity.layerSystemAssigned),
    Layer.provide(Layer.merge(NodeManagedIdentity.layerPlatform, Layer.succeed(HttpClient.HttpClient, app)))
  )

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("proxy immunity: the app's own HttpClient sends through a proxy", () => {
  for (const kind of localSources) {
    it.scopedLive(`${kind}: the token request reaches the emulator directly, the proxy sees nothing`, () =>
      Effect.gen(function*() {
        const { emulator, proxy } = yield* setup
        const app = yield* proxyingClient(proxy)
        const token = yield* getToken(vault).pipe(
          Effect.provide(besideThePlatform(app, { azureArcKeyDirectory: emulator.arcKeyDirectory })),
          withEnv({ ...emulator.env(kind), ...proxyEnv(proxy) })
        )
        assert.strictEqual(claimsOf(token.token).xms_src, kind)
        assert.strictEqual(yield* emulator.requestCount(kind), requestsPerToken(kind))
        assert.deepStrictEqual(proxy.seen(), [])
      }))
  }

  it.scopedLive("without a LocalHttpClient (core alone) the app's client is used, and the proxy gets the request", () =>
    Effect.gen(function*() {
      const { emulator, proxy } = yield* setup
      const app = yield* proxyingClient(proxy)
      const authorityHost = emulator.env("Imds").AZURE_POD_IDENTITY_AUTHORITY_HOST
      const result = yield* getToken(vault).pipe(
        Effect.provide(
          ManagedIdentityClient.layer.pipe(
            Layer.provide(ImdsTokenSource.layer({ authorityHost, retrySchedule: Schedule.stop })),
            Layer.provide(TokenCache.layerMemory),
            Layer.provide(ManagedIdentity.layerSystemAssigned),
            Layer.provide(Layer.succeed(HttpClient.HttpClient, app))
          )
        ),
        withEnv(proxyEnv(proxy)),
        Effect.either
      )
      assert.isTrue(result._tag === "Left")
      assert.strictEqual(yield* emulator.requestCount("Imds"), 0)
      assert.deepStrictEqual(proxy.seen(), [`CONNECT ${new URL(authorityHost).host}`])
    }))

  it.scopedLive("a host that is not loopback or link-local still goes through the app's client and its proxy", () =>
    Effect.gen(function*() {
      const { proxy } = yield* setup
      const app = yield* proxyingClient(proxy)
      const result = yield* getToken(vault).pipe(
        Effect.provide(
          ManagedIdentityClient.layer.pipe(
            Layer.provide(
              ImdsTokenSource.layer({ authorityHost: "http://imds.invalid", retrySchedule: Schedule.stop })
            ),
            Layer.provide(TokenCache.layerMemory),
            Layer.provide(ManagedIdentity.layerSystemAssigned),
            Layer.provide(Layer.merge(NodeManagedIdentity.layerPlatform, Layer.succeed(HttpClient.HttpClient, app)))
          )
        ),
        withEnv(proxyEnv(proxy)),
        Effect.either
      )
      assert.isTrue(result._tag === "Left")
      assert.deepStrictEqual(proxy.seen(), ["CONNECT imds.invalid:80"])
    }))
})

describe("the direct transport answers as the app's client would (the app's client sends through the proxy)", () => {
  const retrySchedule = Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(3)))
  const cases: ReadonlyArray<readonly [string, ManagedIdentityEmulator.FaultStep, string, number]> = [
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
    it.scopedLive(`App Service: ${name}, and the proxy sees nothing`, () =>
      Effect.gen(function*() {
        const { emulator, proxy } = yield* setup
        yield* emulator.setFaults("AppService", [step])
        const app = yield* proxyingClient(proxy)
        const result = yield* getToken(vault).pipe(
          Effect.provide(besideThePlatform(app, { retrySchedule })),
          withEnv({ ...emulator.env("AppService"), ...proxyEnv(proxy) }),
          Effect.either
        )
        assert.strictEqual(result._tag === "Right" ? "token" : result.left._tag, outcome)
        assert.strictEqual(yield* emulator.requestCount("AppService"), requests)
        assert.deepStrictEqual(proxy.seen(), [])
      }))
  }
})

describe("doctor with proxy variables set", () => {
  const diagnose = (emulator: ManagedIdentityEmulator.Emulator, env: Record<string, string>) =>
    ManagedIdentitySource.diagnose({}).pipe(
      Effect.provide(TokenCache.layerMemory),
      Effect.provide(ManagedIdentity.layerSystemAssigned),
      Effect.provide(NodeManagedIdentity.layerPlatform),
      withEnv({ ...emulator.env("Imds"), ...env }),
      Effect.orDie
    )

  it.scopedLive("proxy.bypassed names the variables and their proxies, never the proxy's user name or password", () =>
    Effect.gen(function*() {
      const { emulator, proxy } = yield* setup
      const report = yield* diagnose(emulator, { HTTP_PROXY: proxy.url, all_proxy: proxy.url, HTTPS_PROXY: proxy.url })
      const found = report.findings.filter((finding) => finding.code.startsWith("proxy."))
      const shown = `http://${new URL(proxy.url).host}`
      const endpoint = `${emulator.env("Imds").AZURE_POD_IDENTITY_AUTHORITY_HOST}/metadata/identity/oauth2/token`
      assert.deepStrictEqual(found, [{
        level: "ok",
        code: "proxy.bypassed",
        message: `HTTP_PROXY (${shown}), all_proxy (${shown}) would send requests to ${endpoint} through a proxy, ` +
          "which cannot reach that host: they go directly, around it"
      }])
      assert.isTrue(report.findings.some((finding) => finding.code === "token.received"))
      const page = formatDiagnosis(report)
      assert.include(page, "proxy.bypassed")
      for (const output of [page, JSON.stringify(report.findings)]) {
        assert.notInclude(output, "proxy-secret")
        assert.notInclude(output, "proxy-user")
      }
      assert.deepStrictEqual(proxy.seen(), [])
    }))

  it.scopedLive("no proxy finding when NO_PROXY names the host, or no proxy variable is set", () =>
    Effect.gen(function*() {
      const { emulator, proxy } = yield* setup
      for (const env of [{ HTTP_PROXY: proxy.url, NO_PROXY: "localhost,127.0.0.1" }, {}]) {
        const report = yield* diagnose(emulator, env)
        assert.deepStrictEqual(report.findings.filter((finding) => finding.code.startsWith("proxy.")), [])
        assert.isTrue(report.findings.some((finding) => finding.code === "token.received"))
      }
    }))
})

/**
 * Other runtimes, as child processes running the bundled CLI: each is given by a variable holding its binary (`.ci/run`
 * sets them); a runtime whose variable is unset is skipped, and the test's name says which variable to set.
 */
const runtimes = [
  {
    name: "Node 24 with NODE_USE_ENV_PROXY=1",
    variable: "MANAGED_IDENTITY_TEST_NODE24",
    env: { NODE_USE_ENV_PROXY: "1" }
  },
  { name: "Bun", variable: "MANAGED_IDENTITY_TEST_BUN", env: {} }
] as const

const bundleDirectory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "managed-identity-proxy-"))
const bundle = Path.join(bundleDirectory, "managed-identity.mjs")
const anyRuntime = runtimes.some(({ variable }) => (process.env[variable] ?? "") !== "")

beforeAll(async () => {
  if (!anyRuntime) return
  await promisify(ChildProcess.execFile)(process.execPath, ["scripts/bundle.mjs", bundle], {
    cwd: Path.dirname(import.meta.dirname)
  })
}, 120_000)

afterAll(() => Fs.rmSync(bundleDirectory, { recursive: true, force: true }))

for (const runtime of runtimes) {
  const binary = process.env[runtime.variable] ?? ""
  const present = binary !== "" && Fs.existsSync(binary)
  describe.skipIf(!present)(
    present
      ? `proxy immunity on ${runtime.name}`
      : `proxy immunity on ${runtime.name} (skipped: ${runtime.variable} names no binary)`,
    () => {
      it.scopedLive(
        "the runtime's own fetch does send a loopback request to the proxy (so the test can fail)",
        () =>
          Effect.gen(function*() {
            const { emulator, proxy } = yield* setup
            const url = `${emulator.env("Imds").AZURE_POD_IDENTITY_AUTHORITY_HOST}/metadata/identity/oauth2/token`
            const script = `await fetch(${JSON.stringify(url)}).then((r) => r.status, () => "failed")`
            const args = runtime.variable === "MANAGED_IDENTITY_TEST_BUN"
              ? ["-e", script]
              : ["--input-type=module", "-e", script]
            yield* run(binary, args, { ...runtime.env, ...proxyEnv(proxy) })
            assert.strictEqual(yield* emulator.requestCount("Imds"), 0)
            assert.isTrue(proxy.seen().length >= 1)
          }),
        30_000
      )

      for (const kind of ["Imds", "AppService", "CloudShell", "MachineLearning", "ServiceFabric"] as const) {
        it.scopedLive(
          `${kind}: managed-identity token reaches the emulator directly, the proxy sees nothing`,
          () =>
            Effect.gen(function*() {
              const { emulator, proxy } = yield* setup
              const outcome = yield* run(
                binary,
                [bundle, "token", "--resource", vault, "--json"],
                { ...emulator.env(kind), ...runtime.env, ...proxyEnv(proxy) },
                { timeout: 20_000 }
              )
              assert.strictEqual(outcome.code, 0, outcome.stderr)
              assert.strictEqual(JSON.parse(outcome.stdout).source, "identity_provider")
              assert.strictEqual(yield* emulator.requestCount(kind), 1)
              assert.deepStrictEqual(proxy.seen(), [])
            }),
          30_000
        )
      }
    }
  )
}
