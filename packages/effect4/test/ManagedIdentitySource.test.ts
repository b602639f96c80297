import { assert, describe, it } from "@effect/vitest"
import { ManagedIdentity, ManagedIdentitySource, RetryPolicy, TokenSource } from "@managed-identity/effect4"
import { ConfigProvider, Duration, Effect, Function, Layer } from "effect"
import * as FakeFileSystem from "./utils/fakeFileSystem.js"
import * as FakeHttp from "./utils/fakeHttp.js"
import * as SourceHarness from "./utils/sourceHarness.js"

const linuxAgent = "/opt/azcmagent/bin/himds"
const windowsAgent = "C:\\Program Files\\AzureConnectedMachineAgent\\himds.exe"

/** A file system with these files; with `failing`, checking any of them fails. */
const fakeFileSystem = (present: ReadonlyArray<string> = [], failing = false) =>
  FakeFileSystem.make(Object.fromEntries(present.map((path) => [path, { unreadable: failing }])))

const detectWith = (
  variables: Record<string, string>,
  options: {
    readonly platform?: string
    readonly present?: ReadonlyArray<string>
    readonly failing?: boolean
    readonly identity?: ManagedIdentity.Identity
  } = {}
) => {
  const fs = fakeFileSystem(options.present, options.failing)
  return Effect.map(
    ManagedIdentitySource.detect.pipe(
      options.identity === undefined ? Function.identity : Effect.provideService(
        ManagedIdentity.ManagedIdentity,
        options.identity
      ),
      Effect.provide(fs.layer),
      Effect.provide(ManagedIdentitySource.layerHostPlatform(options.platform ?? "linux")),
      Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(Object.fromEntries(Object.entries(variables)))))
    ),
    (detection) => ({ detection, checked: fs.calls.map((call) => call.slice("exists ".length)) })
  )
}

const all = {
  IDENTITY_ENDPOINT: "https://127.0.0.1:2377/token",
  IDENTITY_HEADER: "header-secret",
  IDENTITY_SERVER_THUMBPRINT: "ab".repeat(20),
  MSI_ENDPOINT: "http://127.0.0.1:46808/MSI/auth",
  MSI_SECRET: "msi-secret",
  IMDS_ENDPOINT: "http://localhost:40342"
}

const pick = (...names: ReadonlyArray<keyof typeof all>) =>
  Object.fromEntries(names.map((name) => [name, all[name]])) as Record<string, string>

const workload = {
  AZURE_FEDERATED_TOKEN_FILE: "/var/run/secrets/azure/tokens/azure-identity-token",
  AZURE_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
  AZURE_CLIENT_ID: "11111111-2222-3333-4444-555555555555"
}

describe("ManagedIdentitySource.detect", () => {
  // The detection table itself is the protocol's (packages/protocol/test/Detection.test.ts); here, how the shell reads
  // the variables through Config, the identity in context, and the agent file through FileSystem.
  it.effect("variables that decide are read through Config, and no file is checked", () =>
    Effect.gen(function*() {
      const variables = pick("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT")
      const { checked, detection } = yield* detectWith(variables, { present: [linuxAgent] })
      assert.deepStrictEqual(detection, {
        kind: "ServiceFabric",
        reasons: [
          "Service Fabric: IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT are set",
          `variables seen: ${Object.keys(variables).join(", ")}`
        ],
        variablesSeen: Object.keys(variables),
        filesChecked: []
      })
      assert.deepStrictEqual(checked, [])
    }))

  it.effect("a configured ClientId identity stands in for AZURE_CLIENT_ID", () =>
    Effect.gen(function*() {
      const { AZURE_CLIENT_ID: _, ...withoutClientId } = workload
      const withIdentity = yield* detectWith(withoutClientId, { identity: ManagedIdentity.clientId("c-1") })
      assert.strictEqual(withIdentity.detection.kind, "WorkloadIdentity")
      assert.strictEqual(
        withIdentity.detection.reasons[0],
        "AKS workload identity: AZURE_FEDERATED_TOKEN_FILE and AZURE_TENANT_ID are set, the client id is the configured ClientId identity"
      )
      const systemAssigned = yield* detectWith(withoutClientId, { identity: ManagedIdentity.systemAssigned })
      assert.strictEqual(systemAssigned.detection.kind, "Imds")
    }))

  it.effect("empty variables count as unset", () =>
    Effect.gen(function*() {
      const appService = yield* detectWith({
        ...pick("IDENTITY_ENDPOINT", "IDENTITY_HEADER"),
        IDENTITY_SERVER_THUMBPRINT: ""
      })
      assert.strictEqual(appService.detection.kind, "AppService")
      assert.deepStrictEqual(appService.detection.variablesSeen, ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"])
      const cloudShell = yield* detectWith({ MSI_ENDPOINT: all.MSI_ENDPOINT, MSI_SECRET: " " })
      assert.strictEqual(cloudShell.detection.kind, "CloudShell")
      const imds = yield* detectWith(Object.fromEntries(Object.keys(all).map((name) => [name, ""])))
      assert.strictEqual(imds.detection.kind, "Imds")
      assert.deepStrictEqual(imds.detection.variablesSeen, [])
    }))

  it.effect("Azure Arc by the agent binary on Linux", () =>
    Effect.gen(function*() {
      const { checked, detection } = yield* detectWith(pick("IDENTITY_ENDPOINT"), { present: [linuxAgent] })
      assert.deepStrictEqual(detection, {
        kind: "AzureArc",
        reasons: [
          "Azure Arc: the agent /opt/azcmagent/bin/himds is installed",
          "variables seen: IDENTITY_ENDPOINT",
          "/opt/azcmagent/bin/himds exists"
        ],
        variablesSeen: ["IDENTITY_ENDPOINT"],
        filesChecked: [{ path: linuxAgent, exists: true }]
      })
      assert.deepStrictEqual(checked, [linuxAgent])
    }))

  it.effect("Azure Arc by the agent binary on Windows, under %ProgramFiles%", () =>
    Effect.gen(function*() {
      const { checked, detection } = yield* detectWith({ ProgramFiles: "C:\\Program Files\\" }, {
        platform: "win32",
        present: [windowsAgent]
      })
      assert.strictEqual(detection.kind, "AzureArc")
      assert.deepStrictEqual(detection.filesChecked, [{ path: windowsAgent, exists: true }])
      assert.deepStrictEqual(checked, [windowsAgent])
    }))

  it.effect("IMDS otherwise, saying which files were checked", () =>
    Effect.gen(function*() {
      const linux = yield* detectWith({})
      assert.deepStrictEqual(linux.detection, {
        kind: "Imds",
        reasons: [
          "IMDS: no variable or file selects another source",
          "no managed identity variable is set",
          "/opt/azcmagent/bin/himds does not exist"
        ],
        variablesSeen: [],
        filesChecked: [{ path: linuxAgent, exists: false }]
      })
      const windows = yield* detectWith({ ProgramFiles: "C:\\Program Files" }, {
        platform: "win32",
        present: [linuxAgent]
      })
      assert.strictEqual(windows.detection.kind, "Imds")
      assert.deepStrictEqual(windows.detection.filesChecked, [{ path: windowsAgent, exists: false }])
    }))

  it.effect("Windows without ProgramFiles and other platforms look for no file", () =>
    Effect.gen(function*() {
      const windows = yield* detectWith({}, { platform: "win32", present: [windowsAgent] })
      assert.strictEqual(windows.detection.kind, "Imds")
      assert.deepStrictEqual(windows.checked, [])
      assert.include(windows.detection.reasons, "ProgramFiles is not set, so the Azure Arc agent was not looked for")
      const darwin = yield* detectWith({}, { platform: "darwin", present: [linuxAgent] })
      assert.strictEqual(darwin.detection.kind, "Imds")
      assert.deepStrictEqual(darwin.checked, [])
      assert.include(
        darwin.detection.reasons,
        "the Azure Arc agent is only looked for on Linux and Windows, not on darwin"
      )
    }))

  it.effect("a file that cannot be checked counts as absent and says so", () =>
    Effect.gen(function*() {
      const { detection } = yield* detectWith({}, { present: [linuxAgent], failing: true })
      assert.strictEqual(detection.kind, "Imds")
      assert.deepStrictEqual(detection.filesChecked, [{ path: linuxAgent, exists: false }])
      assert.match(detection.reasons[2], /^\/opt\/azcmagent\/bin\/himds could not be checked \(/)
    }))

  it.effect("names variables but never their values", () =>
    Effect.gen(function*() {
      const { detection } = yield* detectWith(all)
      const text = JSON.stringify(detection)
      for (const value of Object.values(all)) assert.notInclude(text, value)
    }))
})

describe("ManagedIdentitySource.layer", () => {
  const run = (
    variables: Record<string, string>,
    options: {
      readonly layer?: typeof ManagedIdentitySource.layer
      readonly present?: ReadonlyArray<string>
      readonly status?: number
      readonly files?: Record<string, string>
    } = {}
  ) =>
    Effect.gen(function*() {
      const http = yield* FakeHttp.make((request) =>
        new URL(request.url).port === "40342" && request.headers.authorization === undefined
          ? FakeHttp.text("", { status: 401, headers: { "www-authenticate": "Basic realm=/x/arc.key" } })
          : FakeHttp.json({ access_token: "AT", expires_in: 3600 }, { status: options.status ?? 200 })
      )
      const fileSystem = FakeFileSystem.make({
        [workload.AZURE_FEDERATED_TOKEN_FILE]: { content: "federated.token" },
        ...Object.fromEntries((options.present ?? []).map((path) => [path, {}])),
        ...Object.fromEntries(Object.entries(options.files ?? {}).map(([path, content]) => [path, { content }]))
      })
      const layer = (options.layer ?? ManagedIdentitySource.layer).pipe(
        Layer.provide(ManagedIdentitySource.layerHostPlatform("linux"))
      )
      const { kind, result } = yield* Effect.gen(function*() {
        const source = yield* TokenSource.TokenSource
        return { kind: source.kind, result: yield* Effect.result(source.getToken({ resource: "r" })) }
      }).pipe(SourceHarness.provide(layer, { http, fileSystem, env: variables }))
      return { kind, result, urls: (yield* http.requests).map(({ url }) => url) }
    })

  const cases: ReadonlyArray<{
    readonly variables: Record<string, string>
    readonly kind: TokenSource.SourceKind
    readonly url: string
  }> = [
    {
      variables: pick("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT"),
      kind: "ServiceFabric",
      url: "https://127.0.0.1:2377/token?api-version=2019-07-01-preview&resource=r"
    },
    {
      variables: { IDENTITY_ENDPOINT: "http://127.0.0.1:8081/msi/token", IDENTITY_HEADER: "h" },
      kind: "AppService",
      url: "http://127.0.0.1:8081/msi/token?api-version=2019-08-01&resource=r"
    },
    {
      variables: pick("MSI_ENDPOINT", "MSI_SECRET"),
      kind: "MachineLearning",
      url: "http://127.0.0.1:46808/MSI/auth?api-version=2017-09-01&resource=r"
    },
    { variables: pick("MSI_ENDPOINT"), kind: "CloudShell", url: "http://127.0.0.1:46808/MSI/auth" },
    {
      variables: { AZURE_POD_IDENTITY_AUTHORITY_HOST: "http://127.0.0.1:8888/" },
      kind: "Imds",
      url: "http://127.0.0.1:8888/metadata/identity/oauth2/token?api-version=2018-02-01&resource=r"
    },
    {
      variables: { ...workload, ...pick("IDENTITY_ENDPOINT", "IDENTITY_HEADER") },
      kind: "WorkloadIdentity",
      url: `https://login.microsoftonline.com/${workload.AZURE_TENANT_ID}/oauth2/v2.0/token`
    }
  ]
  for (const { kind, url, variables } of cases) {
    it.effect(`provides the ${kind} source built from the same variables`, () =>
      Effect.gen(function*() {
        const outcome = yield* run(variables)
        assert.strictEqual(outcome.kind, kind)
        assert.strictEqual(outcome.result._tag, "Success")
        assert.deepStrictEqual(outcome.urls, [url])
      }))
  }

  it.effect("provides Azure Arc, detected by its agent, at the default endpoint with the given key directory", () =>
    Effect.gen(function*() {
      const outcome = yield* run({}, {
        present: [linuxAgent],
        files: { "/arc-keys/arc.key": "k" },
        layer: ManagedIdentitySource.layerWithOptions({ azureArcKeyDirectory: "/arc-keys" })
      })
      assert.strictEqual(outcome.kind, "AzureArc")
      assert.strictEqual(outcome.result._tag, "Success")
      const url = "http://localhost:40342/metadata/identity/oauth2/token?api-version=2020-06-01&resource=r"
      assert.deepStrictEqual(outcome.urls, [url, url])
    }))

  it.effect("passes the timing options to the source", () =>
    Effect.gen(function*() {
      const outcome = yield* run(pick("MSI_ENDPOINT"), {
        status: 503,
        layer: ManagedIdentitySource.layerWithOptions({ retrySchedule: RetryPolicy.none })
      })
      assert.strictEqual(outcome.result._tag, "Failure")
      assert.strictEqual(outcome.urls.length, 1)
    }))

  const probes = [
    ["a detected IMDS probes its first contact: a silent IMDS is SourceUnavailable after 1 s", {}, 1000],
    ["probeTimeout is passed to the IMDS probe", { probeTimeout: "250 millis" }, 250]
  ] as const
  for (const [name, options, millis] of probes) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const http = yield* FakeHttp.make([FakeHttp.never])
        const layer = ManagedIdentitySource.layerWithOptions(options).pipe(
          Layer.provide(ManagedIdentitySource.layerHostPlatform("linux"))
        )
        const error = yield* SourceHarness.getToken("r").pipe(
          SourceHarness.provide(layer, { http }),
          SourceHarness.failsAfter(millis)
        )
        assert(error._tag === "SourceUnavailable")
        assert.include(error.reason, `no answer within ${Duration.format(Duration.millis(millis))} (IMDS probe`)
        assert.strictEqual(yield* http.count, 1)
      }))
  }

  it.effect("identityBindings: the detected workload identity sends the exchange to the token proxy", () =>
    Effect.gen(function*() {
      const outcome = yield* run({ ...workload, AZURE_KUBERNETES_TOKEN_PROXY: "https://10.0.0.1:8443" }, {
        layer: ManagedIdentitySource.layerWithOptions({ identityBindings: true })
      })
      assert.strictEqual(outcome.kind, "WorkloadIdentity")
      assert.deepStrictEqual(outcome.urls, [`https://10.0.0.1:8443/${workload.AZURE_TENANT_ID}/oauth2/v2.0/token`])
    }))
})
