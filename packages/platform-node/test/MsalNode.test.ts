import { assert, describe, it } from "@effect/vitest"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { claimsOf } from "@managed-identity/test-utils/Jwt"
import { Effect } from "effect"
import * as Path from "node:path"
import { runNode } from "./utils/nodeProcess.js"

const vault = "https://vault.azure.net"
const packageDirectory = Path.dirname(import.meta.dirname)

/**
 * msal-node picks its source once per process (a static on its internal `ManagedIdentityClient`) and shares one
 * token cache between all `ManagedIdentityApplication`s, so each source runs in a fresh Node process whose
 * environment is exactly the emulator's variables, as on a real host.
 */
const script = `
import { ManagedIdentityApplication } from "@azure/msal-node"
const app = new ManagedIdentityApplication()
const first = await app.acquireToken({ resource: process.argv[1] })
const second = await app.acquireToken({ resource: process.argv[1] })
console.log(JSON.stringify({
  source: app.getManagedIdentitySource(),
  accessToken: first.accessToken,
  tokenType: first.tokenType,
  expiresOn: first.expiresOn,
  fromCache: [first.fromCache, second.fromCache],
  sameToken: first.accessToken === second.accessToken
}))
`

interface MsalResult {
  readonly source: string
  readonly accessToken: string
  readonly tokenType: string
  readonly expiresOn: string
  readonly fromCache: [boolean, boolean]
  readonly sameToken: boolean
}

const acquireWithMsal = (env: Record<string, string>) =>
  runNode(["--input-type=module", "--eval", script, vault], env, { cwd: packageDirectory }).pipe(
    Effect.filterOrFail(
      (outcome) => outcome.code === 0,
      (outcome) => new Error(`msal-node exited with ${outcome.code}\n${outcome.stderr}`)
    ),
    Effect.map((outcome): MsalResult => JSON.parse(outcome.stdout))
  )

const acquire = (
  emulator: ManagedIdentityEmulator.Emulator,
  kind: ManagedIdentityEmulator.SourceKind,
  extraEnv: Record<string, string> = {}
) =>
  Effect.gen(function*() {
    const result = yield* acquireWithMsal({ ...emulator.env(kind), ...extraEnv })
    const claims = claimsOf(result.accessToken)
    assert.strictEqual(claims.aud, vault)
    assert.strictEqual(claims.appid, ManagedIdentityEmulator.systemAssignedIdentities[kind].clientId)
    assert.strictEqual(result.tokenType, "Bearer")
    assert.deepStrictEqual(result.fromCache, [false, true])
    assert.isTrue(result.sameToken)
    assert.isTrue(Math.abs(Date.parse(result.expiresOn) - (Date.now() + 86_400_000)) < 5_000, result.expiresOn)
    const requests = yield* emulator.requests
    assert.strictEqual(requests.length, 1)
    return { source: result.source, request: requests[0] }
  })

interface Case {
  readonly title: string
  readonly kind: ManagedIdentityEmulator.SourceKind
  /** What `getManagedIdentitySource()` says. */
  readonly msalSource: string
  /** Variables the platform sets besides the emulator's. */
  readonly extraEnv?: Record<string, string>
  readonly method: "GET" | "POST"
  readonly query: Readonly<Record<string, string>>
  readonly body?: string
  /** Headers the request must carry: a value, or a pattern the value matches. */
  readonly headers: (emulator: ManagedIdentityEmulator.Emulator) => Readonly<Record<string, string | RegExp>>
}

const machineLearningClientId = ManagedIdentityEmulator.systemAssignedIdentities.MachineLearning.clientId

const cases: ReadonlyArray<Case> = [
  {
    title: "IMDS through AZURE_POD_IDENTITY_AUTHORITY_HOST",
    kind: "Imds",
    msalSource: "DefaultToImds",
    method: "GET",
    query: { "api-version": "2018-02-01", resource: vault },
    headers: () => ({ metadata: "true" })
  },
  {
    title: "App Service",
    kind: "AppService",
    msalSource: "AppService",
    method: "GET",
    query: { "api-version": "2019-08-01", resource: vault },
    headers: (emulator) => ({ "x-identity-header": emulator.secrets.identityHeader })
  },
  {
    title: "Azure Machine Learning, with the DEFAULT_IDENTITY_CLIENT_ID the platform sets",
    kind: "MachineLearning",
    msalSource: "MachineLearning",
    extraEnv: { DEFAULT_IDENTITY_CLIENT_ID: machineLearningClientId },
    method: "GET",
    query: { "api-version": "2017-09-01", resource: vault, clientid: machineLearningClientId },
    headers: (emulator) => ({ secret: emulator.secrets.msiSecret, metadata: "true" })
  },
  {
    title: "Cloud Shell",
    kind: "CloudShell",
    msalSource: "CloudShell",
    method: "POST",
    query: {},
    body: `resource=${encodeURIComponent(vault)}`,
    headers: () => ({ metadata: "true", "content-type": /^application\/x-www-form-urlencoded\b/ })
  }
]

describe("msal-node's ManagedIdentityApplication against the emulator", () => {
  for (const testCase of cases) {
    it.scopedLive(testCase.title, () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const { request, source } = yield* acquire(emulator, testCase.kind, testCase.extraEnv)
        assert.strictEqual(source, testCase.msalSource)
        assert.strictEqual(request.source, testCase.kind)
        assert.strictEqual(request.method, testCase.method)
        assert.deepStrictEqual(request.query, testCase.query)
        if (testCase.body !== undefined) assert.strictEqual(request.body, testCase.body)
        for (const [name, expected] of Object.entries(testCase.headers(emulator))) {
          if (typeof expected === "string") assert.strictEqual(request.headers[name], expected, name)
          else assert.match(request.headers[name], expected, name)
        }
      }))
  }
})
