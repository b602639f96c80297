import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import * as ManagedIdentityEmulator from "../src/ManagedIdentityEmulator.js"

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
  Effect.async<MsalResult, Error>((resume) => {
    const child = ChildProcess.execFile(
      process.execPath,
      ["--input-type=module", "--eval", script, vault],
      { cwd: packageDirectory, env: { PATH: process.env.PATH ?? "", ...env }, timeout: 15_000 },
      (error, stdout, stderr) =>
        resume(
          error === null ? Effect.succeed(JSON.parse(stdout)) : Effect.fail(new Error(`${error.message}\n${stderr}`))
        )
    )
    return Effect.sync(() => child.kill())
  })

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString())

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

describe("msal-node's ManagedIdentityApplication against the emulator", () => {
  it.scopedLive("IMDS through AZURE_POD_IDENTITY_AUTHORITY_HOST", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const { request, source } = yield* acquire(emulator, "Imds")
      assert.strictEqual(source, "DefaultToImds")
      assert.strictEqual(request.source, "Imds")
      assert.strictEqual(request.method, "GET")
      assert.deepStrictEqual(request.query, { "api-version": "2018-02-01", resource: vault })
      assert.strictEqual(request.headers["metadata"], "true")
    }))

  it.scopedLive("App Service", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const { request, source } = yield* acquire(emulator, "AppService")
      assert.strictEqual(source, "AppService")
      assert.strictEqual(request.source, "AppService")
      assert.strictEqual(request.method, "GET")
      assert.deepStrictEqual(request.query, { "api-version": "2019-08-01", resource: vault })
      assert.strictEqual(request.headers["x-identity-header"], emulator.secrets.identityHeader)
    }))

  it.scopedLive("Azure Machine Learning, with the DEFAULT_IDENTITY_CLIENT_ID the platform sets", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const clientId = ManagedIdentityEmulator.systemAssignedIdentities.MachineLearning.clientId
      const { request, source } = yield* acquire(emulator, "MachineLearning", { DEFAULT_IDENTITY_CLIENT_ID: clientId })
      assert.strictEqual(source, "MachineLearning")
      assert.strictEqual(request.source, "MachineLearning")
      assert.strictEqual(request.method, "GET")
      assert.deepStrictEqual(request.query, { "api-version": "2017-09-01", resource: vault, clientid: clientId })
      assert.strictEqual(request.headers["secret"], emulator.secrets.msiSecret)
      assert.strictEqual(request.headers["metadata"], "true")
    }))

  it.scopedLive("Cloud Shell", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const { request, source } = yield* acquire(emulator, "CloudShell")
      assert.strictEqual(source, "CloudShell")
      assert.strictEqual(request.source, "CloudShell")
      assert.strictEqual(request.method, "POST")
      assert.deepStrictEqual(request.query, {})
      assert.strictEqual(request.body, `resource=${encodeURIComponent(vault)}`)
      assert.strictEqual(request.headers["metadata"], "true")
      assert.match(request.headers["content-type"], /^application\/x-www-form-urlencoded\b/)
    }))
})
