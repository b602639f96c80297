/**
 * `managed-identity token` and `doctor` with a managed identity as a federated credential, the bundled CLI against the
 * emulator: the application's token through both hops, refusals on stderr, both hops in doctor's findings, and never
 * the assertion (the managed identity's token) in any output.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { ManagedIdentitySource } from "@managed-identity/core"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { claimsOf } from "@managed-identity/test-utils/Jwt"
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { runNode } from "./utils/nodeProcess.js"

const graph = "https://graph.microsoft.com"
const packageDirectory = Path.dirname(import.meta.dirname)
const bundleDirectory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "managed-identity-cli-federated-"))
const bundle = Path.join(bundleDirectory, "managed-identity.mjs")

beforeAll(async () => {
  await promisify(ChildProcess.execFile)(process.execPath, ["scripts/bundle.mjs", bundle], { cwd: packageDirectory })
})

afterAll(() => Fs.rmSync(bundleDirectory, { recursive: true, force: true }))

const cli = (args: ReadonlyArray<string>, env: Record<string, string>) => runNode([bundle, ...args], env)

/** The assertions the STS received: no output may hold one. */
const assertions = (emulator: ManagedIdentityEmulator.Emulator) =>
  Effect.map(
    emulator.requests,
    (all) =>
      all.flatMap((request) =>
        request.source === "FederatedCredential" ? [new URLSearchParams(request.body).get("client_assertion")!] : []
      )
  )

const nothingSecret = (outputs: ReadonlyArray<string>, secrets: ReadonlyArray<string>) => {
  assert.isAbove(secrets.length, 0)
  for (const output of outputs) {
    for (const secret of secrets) assert.notInclude(output, secret)
  }
}

describe("managed-identity CLI, a managed identity as a federated credential", () => {
  it.scopedLive("token --federated: the application's token, one request to each hop, the assertion never printed", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const outcome = yield* cli(
        ["token", "--resource", graph, "--federated", "--json"],
        emulator.env("FederatedCredential")
      )
      assert.strictEqual(outcome.code, 0, outcome.stderr)
      const printed = JSON.parse(outcome.stdout)
      assert.strictEqual(
        claimsOf(printed.accessToken).appid,
        ManagedIdentityEmulator.systemAssignedIdentities.FederatedCredential.clientId
      )
      assert.strictEqual(printed.resource, graph)
      assert.strictEqual(yield* emulator.requestCount("Imds"), 1)
      assert.strictEqual(yield* emulator.requestCount("FederatedCredential"), 1)
      nothingSecret([outcome.stdout, outcome.stderr], yield* assertions(emulator))
    }))

  it.scopedLive("token --federated-client-id of an unknown application: exit 1, AADSTS700016 on stderr, no assertion", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const env = emulator.env("FederatedCredential")
      const outcome = yield* cli([
        "token",
        "--resource",
        graph,
        "--federated-client-id",
        "0d0d0d0d-0000-4000-8000-000000000000",
        "--federated-tenant-id",
        env.MANAGED_IDENTITY_FEDERATED_TENANT_ID
      ], env)
      assert.strictEqual(outcome.code, 1)
      assert.strictEqual(outcome.stdout, "")
      assert.match(outcome.stderr, /^TokenRequestFailed: .*AADSTS700016: /)
      nothingSecret([outcome.stderr], yield* assertions(emulator))
    }))

  it.scopedLive("doctor --federated: hop 1 for the exchange audience, hop 2 exchanged; a wrong audience refused", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const env = emulator.env("FederatedCredential")
      const good = yield* cli(["doctor", "--federated", "--resource", graph, "--json"], env)
      const bad = yield* cli([
        "doctor",
        "--federated",
        "--federated-audience",
        "api://AzureADTokenExchangeUSGov",
        "--resource",
        graph
      ], env)
      assert.strictEqual(good.code, 0, good.stdout + good.stderr)
      const report: ManagedIdentitySource.Diagnosis = JSON.parse(good.stdout)
      assert.strictEqual(report.resource, "api://AzureADTokenExchange")
      assert.strictEqual(report.token?.claims?.aud, "api://AzureADTokenExchange")
      const codes = report.findings.map((finding) => `${finding.level} ${finding.code}`)
      assert.includeMembers(codes, ["ok source.reachable", "ok identity.match", "ok federated.exchanged"])
      assert.strictEqual(bad.code, 1)
      assert.match(bad.stdout, /^error +federated\.refused +.*AADSTS700212: /m)
      nothingSecret([good.stdout, good.stderr, bad.stdout, bad.stderr], yield* assertions(emulator))
    }))
})
