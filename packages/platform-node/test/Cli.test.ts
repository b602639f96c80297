import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type ManagedIdentitySource, TokenSource } from "@managed-identity/core"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { claimsOf, decodeJwt } from "@managed-identity/test-utils/Jwt"
import { Effect, Option, Redacted } from "effect"
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Https from "node:https"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { childEnv, runNode } from "./utils/nodeProcess.js"
import * as SilentServer from "./utils/silentServer.js"

const vault = "https://vault.azure.net"
const packageDirectory = Path.dirname(import.meta.dirname)
const bundleDirectory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "managed-identity-cli-"))
const bundle = Path.join(bundleDirectory, "managed-identity.mjs")

beforeAll(async () => {
  await promisify(ChildProcess.execFile)(process.execPath, ["scripts/bundle.mjs", bundle], { cwd: packageDirectory })
})

afterAll(() => Fs.rmSync(bundleDirectory, { recursive: true, force: true }))

const cli = (args: ReadonlyArray<string>, env: Record<string, string>, timeout = 15_000) =>
  runNode([bundle, ...args], env, { timeout })

/** Spawns a long-running command, waits until stdout matches `ready`, and stops it when the scope closes. */
const spawnUntil = (args: ReadonlyArray<string>, env: Record<string, string>, ready: RegExp) =>
  Effect.gen(function*() {
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => ChildProcess.spawn(process.execPath, [bundle, ...args], { env: childEnv(env) })),
      (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
    )
    const stdout = yield* Effect.async<string>((resume) => {
      let text = ""
      child.stdout.setEncoding("utf8")
      child.stdout.on("data", (chunk: string) => {
        text += chunk
        if (ready.test(text)) resume(Effect.succeed(text))
      })
      child.on("exit", (code) => resume(Effect.die(new Error(`exited with ${code} before ready: ${text}`))))
    }).pipe(Effect.timeout("10 seconds"), Effect.orDie)
    const stop = Effect.async<number | null>((resume) => {
      child.on("exit", (code) => resume(Effect.succeed(code)))
      child.kill("SIGTERM")
    })
    return { stdout, stop }
  })

/** `GET url` over HTTPS trusting only `ca`: the JSON body. */
const getJson = (url: string, ca: string) =>
  Effect.async<any>((resume) => {
    Https.get(url, { ca }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => (text += chunk))
      response.on("end", () => resume(Effect.succeed(JSON.parse(text))))
    }).on("error", (error) => resume(Effect.die(error)))
  })

const exportsOf = (text: string): Record<string, string> =>
  Object.fromEntries(
    text.split("\n").flatMap((line) => {
      const match = /^export ([A-Z_]+)=(.*)$/.exec(line)
      return match === null ? [] : [[match[1], match[2]]]
    })
  )

describe("managed-identity CLI", () => {
  describe("token", () => {
    it.scopedLive("--json prints exactly the documented keys for an IMDS token", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const outcome = yield* cli(["token", "--resource", vault, "--json"], emulator.env("Imds"))
        assert.strictEqual(outcome.code, 0, outcome.stderr)
        assert.strictEqual(outcome.stderr, "")
        const printed = JSON.parse(outcome.stdout)
        assert.deepStrictEqual(Object.keys(printed), ["accessToken", "tokenType", "expiresOn", "resource", "source"])
        assert.strictEqual(printed.tokenType, "Bearer")
        assert.strictEqual(printed.resource, vault)
        assert.strictEqual(printed.source, "identity_provider")
        assert.isTrue(Math.abs(Date.parse(printed.expiresOn) - (Date.now() + 86_400_000)) < 5_000, printed.expiresOn)
        assert.strictEqual(claimsOf(printed.accessToken).aud, vault)
        const requests = yield* emulator.requests
        assert.deepStrictEqual(requests.map((request) => [request.source, request.method, request.query]), [[
          "Imds",
          "GET",
          { "api-version": "2018-02-01", resource: vault }
        ]])
        assert.strictEqual(requests[0].headers["metadata"], "true")
      }))

    it.scopedLive("gets an App Service token for a user-assigned client id and prints no secret", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const outcome = yield* cli(
          ["token", "--resource", vault, "--client-id", "my-client", "--json"],
          emulator.env("AppService")
        )
        assert.strictEqual(outcome.code, 0, outcome.stderr)
        const printed = JSON.parse(outcome.stdout)
        assert.deepStrictEqual(Object.keys(printed), ["accessToken", "tokenType", "expiresOn", "resource", "source"])
        assert.strictEqual(claimsOf(printed.accessToken).appid, "my-client")
        assert.notInclude(outcome.stdout + outcome.stderr, emulator.secrets.identityHeader)
        const requests = yield* emulator.requests
        assert.deepStrictEqual(requests.map((request) => [request.source, request.query]), [[
          "AppService",
          { "api-version": "2019-08-01", resource: vault, client_id: "my-client" }
        ]])
        assert.strictEqual(requests[0].headers["x-identity-header"], emulator.secrets.identityHeader)
      }))

    it.scopedLive("without --json prints the bare access token", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const outcome = yield* cli(["token", "--resource", vault], emulator.env("CloudShell"))
        assert.strictEqual(outcome.code, 0, outcome.stderr)
        assert.match(outcome.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/)
        assert.strictEqual(claimsOf(outcome.stdout.trim()).aud, vault)
      }))

    it.scopedLive("a 403 from the endpoint exits 1 with the error tag and message on stderr", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        yield* emulator.setFaults("Imds", [{ status: 403, body: { error: "access_denied", error_description: "no" } }])
        const outcome = yield* cli(["token", "--resource", vault, "--json"], emulator.env("Imds"))
        assert.strictEqual(outcome.code, 1)
        assert.strictEqual(outcome.stdout, "")
        assert.isTrue(outcome.stderr.startsWith("TokenRequestFailed: "), outcome.stderr)
        assert.include(outcome.stderr, "access_denied")
        assert.strictEqual(yield* emulator.requestCount("Imds"), 1)
      }))

    it.scopedLive("--verify-identity: another identity's token exits 1 with IdentityMismatch naming both, printing no token", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const env = emulator.env("Imds")
        const args = ["token", "--resource", vault, "--verify-identity"]
        yield* emulator.setFaults("Imds", [{ otherIdentity: true }])
        const mismatch = yield* cli(args, env)
        yield* emulator.setFaults("Imds", [{ otherIdentity: true }])
        const unverified = yield* cli(["token", "--resource", vault], env)
        const verified = yield* cli(args, env)
        assert.strictEqual(mismatch.code, 1, mismatch.stderr)
        assert.strictEqual(mismatch.stdout, "")
        assert.strictEqual(
          mismatch.stderr,
          "IdentityMismatch: Imds issued a token for the user-assigned identity " +
            `${ManagedIdentityEmulator.otherIdentity.resourceId} (client id ` +
            `${ManagedIdentityEmulator.otherIdentity.clientId}, object id ${ManagedIdentityEmulator.otherIdentity.objectId}` +
            "), not for the system-assigned identity: a known IMDS quirk: a VM with exactly one user-assigned identity " +
            "and no system-assigned one answers a system-assigned request with that identity; enable the " +
            "system-assigned identity, or ask for the user-assigned one by its id; nothing was cached\n"
        )
        assert.strictEqual(unverified.code, 0, unverified.stderr)
        assert.strictEqual(claimsOf(unverified.stdout.trim()).appid, ManagedIdentityEmulator.otherIdentity.clientId)
        assert.strictEqual(verified.code, 0, verified.stderr)
        assert.strictEqual(
          claimsOf(verified.stdout.trim()).appid,
          ManagedIdentityEmulator.systemAssignedIdentities.Imds.clientId
        )
        assert.strictEqual(yield* emulator.requestCount("Imds"), 3)
      }))

    it.scopedLive("usage errors exit 2 before any request", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const env = emulator.env("Imds")
        const [bogus, unknownAfterResource, missing, conflicting] = yield* Effect.all([
          cli(["token", "--bogus"], env),
          cli(["token", "--resource", vault, "--bogus"], env),
          cli(["token", "--json"], env),
          cli(["token", "--resource", vault, "--client-id", "a", "--object-id", "b"], env)
        ], { concurrency: "unbounded" })
        assert.deepStrictEqual(
          [bogus.code, unknownAfterResource.code, missing.code, conflicting.code],
          [2, 2, 2, 2]
        )
        assert.strictEqual(
          unknownAfterResource.stderr,
          "usage: managed-identity token: unknown flag or argument --bogus (managed-identity token --help shows the usage)\n"
        )
        assert.strictEqual(
          missing.stderr,
          "usage: managed-identity token: --resource is required (managed-identity token --help shows the usage)\n"
        )
        assert.strictEqual(
          conflicting.stderr,
          "usage: managed-identity token: choose at most one of --client-id, --resource-id, --object-id and --identity-json\n"
        )
        assert.strictEqual(yield* emulator.requestCount(), 0)
      }))
  })

  describe("hostile input (issue 11)", () => {
    it.scopedLive("an empty selector or an invalid --identity-json is a usage error: exit 2, what is wrong, no request", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const env = emulator.env("Imds")
        const deep = "[".repeat(5000) + "]".repeat(5000)
        const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
          [["--client-id", ""], "usage: managed-identity token: --client-id needs an id; it is empty\n"],
          [["--resource-id", "  "], "usage: managed-identity token: --resource-id needs an id; it is empty\n"],
          [["--object-id", ""], "usage: managed-identity token: --object-id needs an id; it is empty\n"],
          [["--client-id"], "usage: managed-identity token: --client-id needs a value\n"],
          [["--client-id", "--json"], "usage: managed-identity token: --client-id needs a value\n"],
          [["--identity-json"], "usage: managed-identity token: --identity-json needs a value\n"],
          [["--identity-json", "not json"], "usage: managed-identity token: --identity-json: expected MSAL's"],
          [["--identity-json", `{"ManagedIdentityIdType":"UserAssigned","Id":"x"}`], "[\"ManagedIdentityIdType\"]"],
          [["--identity-json", `{"ManagedIdentityIdType":"ClientId","Id":""}`], "needs a non-empty Id"],
          [["--identity-json", deep], "usage: managed-identity token: --identity-json: expected MSAL's"]
        ]
        const outcomes = yield* Effect.all(
          cases.map(([flags]) => cli(["token", "--resource", vault, ...flags], env)),
          { concurrency: 2 }
        )
        for (const [index, [flags, message]] of cases.entries()) {
          const outcome = outcomes[index]
          assert.strictEqual(outcome.code, 2, `${flags.join(" ")}: ${outcome.stderr}`)
          assert.include(outcome.stderr, message)
          assert.notInclude(outcome.stderr, "unexpected error")
          assert.isBelow(outcome.stderr.length, 400)
        }
        assert.strictEqual(yield* emulator.requestCount(), 0)
      }))

    it.scopedLive("an endpoint's password or query never reaches stderr", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const env = emulator.env("AppService")
        const endpoint = new URL(env.IDENTITY_ENDPOINT)
        const [withPassword, withQuery] = yield* Effect.all([
          cli(["token", "--resource", vault], {
            ...env,
            IDENTITY_ENDPOINT: `http://user:hidden-password@${endpoint.host}${endpoint.pathname}`
          }),
          cli(["token", "--resource", vault], {
            ...env,
            IDENTITY_ENDPOINT: `http://127.0.0.1:2${endpoint.pathname}?sig=hidden-signature`
          })
        ], { concurrency: "unbounded" })
        assert.strictEqual(withPassword.code, 1)
        assert.match(withPassword.stderr, /^InvalidIdentity: .*IDENTITY_ENDPOINT must not hold a user name or password/)
        assert.notInclude(withPassword.stderr, "hidden-password")
        assert.strictEqual(withQuery.code, 1)
        assert.match(withQuery.stderr, /^SourceUnavailable: .*http:\/\/127\.0\.0\.1:2\/msi\/token/)
        assert.notInclude(withQuery.stderr, "hidden-signature")
        assert.strictEqual(yield* emulator.requestCount(), 0)
      }))
  })

  it.scopedLive("source --json reports App Service and why, without the secret", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const outcome = yield* cli(["source", "--json"], emulator.env("AppService"))
      assert.strictEqual(outcome.code, 0, outcome.stderr)
      const detection = JSON.parse(outcome.stdout)
      assert.strictEqual(detection.kind, "AppService")
      assert.deepStrictEqual(detection.reasons, [
        "App Service: IDENTITY_ENDPOINT and IDENTITY_HEADER are set",
        "variables seen: IDENTITY_ENDPOINT, IDENTITY_HEADER"
      ])
      assert.deepStrictEqual(detection.variablesSeen, ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"])
      assert.notInclude(outcome.stdout, emulator.secrets.identityHeader)
    }))

  describe("doctor", () => {
    /** A JWT-shaped string: no output of `doctor` may hold one. */
    const jwtShaped = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}/

    it.scopedLive(
      "every source, both modes: exit 0 on a match, 1 on another identity's token, no token or secret",
      () =>
        Effect.gen(function*() {
          const emulator = yield* ManagedIdentityEmulator.start()
          const arc = ["--arc-key-directory", emulator.arcKeyDirectory]
          const runs = yield* Effect.forEach(TokenSource.DetectedKind.literals, (kind) =>
            Effect.gen(function*() {
              const matching = yield* cli(["doctor", ...arc], emulator.env(kind))
              yield* emulator.setFaults(kind, [{ otherIdentity: true }])
              const mismatch = yield* cli(["doctor", "--json", ...arc], emulator.env(kind))
              return { kind, matching, mismatch }
            }), { concurrency: 3 })
          const arcKey = Redacted.value(Option.getOrThrow(yield* emulator.lastArcKey))
          const assertion = Redacted.value(yield* emulator.workloadIdentity.federatedToken)
          for (const { kind, matching, mismatch } of runs) {
            assert.strictEqual(matching.code, 0, `${kind}: ${matching.stdout}${matching.stderr}`)
            assert.match(matching.stdout, /^ok +identity\.match +the token names /m)
            assert.match(matching.stdout, /^doctor: 0 errors, 0 warnings in (\d+ ms|\d+\.\d s)$/m)
            assert.strictEqual(mismatch.code, 1, kind)
            const report: ManagedIdentitySource.Diagnosis = JSON.parse(mismatch.stdout)
            const errorCodes = report.findings.flatMap((finding) => finding.level === "error" ? [finding.code] : [])
            assert.deepStrictEqual(errorCodes, ["identity.mismatch"], kind)
            assert.strictEqual(report.token?.claims?.appid, ManagedIdentityEmulator.otherIdentity.clientId)
            for (const output of [matching.stdout, matching.stderr, mismatch.stdout, mismatch.stderr]) {
              assert.notMatch(output, jwtShaped, kind)
              for (const secret of [...Object.values(emulator.secrets), arcKey, assertion]) {
                assert.notInclude(output, secret, kind)
              }
            }
          }
        }),
      60_000
    )

    it.scopedLive(
      "off Azure, IMDS silent: doctor waits its budget, then says so in one line",
      () =>
        Effect.gen(function*() {
          const silent = yield* SilentServer.make
          const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
            Effect.suspend(() => {
              const start = performance.now()
              return Effect.map(effect, (value) => [value, performance.now() - start] as const)
            })
          const [outcome, millis] = yield* timed(cli(["doctor"], { AZURE_POD_IDENTITY_AUTHORITY_HOST: silent.url }))
          assert.strictEqual(outcome.code, 1, outcome.stderr)
          assert.strictEqual(outcome.stderr, "")
          const said = outcome.stdout.split("\n").filter((line) => line.includes("not reachable"))
          assert.deepStrictEqual(said, [
            `error  source.unavailable  IMDS is not reachable at ${silent.url}/metadata/identity/oauth2/token: ` +
            "no answer within 2s (IMDS probe; the next request probes again): most likely not an Azure host with IMDS"
          ])
          assert.isAtLeast(millis, 2000)
          assert.isAtLeast(silent.connections(), 1)
        }),
      30_000
    )

    it.live("usage errors exit 2 before any request", () =>
      Effect.gen(function*() {
        const outcomes = yield* Effect.all([
          cli(["doctor", "--client-id", "a", "--object-id", "b"], {}),
          cli(["doctor", "--budget", "0"], {}),
          cli(["doctor", "--resource-id", " "], {})
        ], { concurrency: "unbounded" })
        assert.deepStrictEqual(outcomes.map((outcome) => outcome.code), [2, 2, 2])
        assert.include(outcomes[0].stderr, "choose at most one of")
        assert.include(outcomes[1].stderr, "--budget must be more than 0")
        assert.include(outcomes[2].stderr, "--resource-id needs an id")
      }))
  })

  describe("emulator", () => {
    it.scopedLive("prints App Service exports that a token command can use, and stops on SIGTERM", () =>
      Effect.gen(function*() {
        const running = yield* spawnUntil(
          ["emulator", "--port", "0", "--source", "app-service"],
          {},
          /export IDENTITY_HEADER=.*\n/
        )
        assert.match(running.stdout, /^export IDENTITY_ENDPOINT=http:\/\/127\.0\.0\.1:\d+\/msi\/token$/m)
        assert.include(
          running.stdout,
          "unset AZURE_FEDERATED_TOKEN_FILE AZURE_TENANT_ID AZURE_CLIENT_ID IDENTITY_SERVER_THUMBPRINT MSI_ENDPOINT " +
            "MSI_SECRET IMDS_ENDPOINT\n"
        )
        const env = exportsOf(running.stdout)
        assert.deepStrictEqual(Object.keys(env), ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"])
        const outcome = yield* cli(["token", "--resource", vault, "--json"], env)
        assert.strictEqual(outcome.code, 0, outcome.stderr)
        assert.strictEqual(JSON.parse(outcome.stdout).resource, vault)
        assert.strictEqual(yield* running.stop, 0)
      }))

    it.scopedLive("--json with a SourceKind spelling, faults and a token lifetime", () =>
      Effect.gen(function*() {
        const running = yield* spawnUntil(
          [
            "emulator",
            "--source",
            "SERVICEFABRIC",
            "--json",
            "--token-lifetime",
            "600",
            "--fault",
            JSON.stringify({ ServiceFabric: [{ status: 403 }] })
          ],
          {},
          /\n/
        )
        const printed = JSON.parse(running.stdout)
        assert.deepStrictEqual(Object.keys(printed), [
          "baseUrl",
          "serviceFabricUrl",
          "thumbprint",
          "arcKeyDirectory",
          "openId",
          "env"
        ])
        assert.deepStrictEqual(Object.keys(printed.openId), ["issuer", "configurationUrl", "jwksUri", "caFile"])
        assert.match(printed.openId.jwksUri, /^https:\/\/127\.0\.0\.1:\d+\/[\w-]+\/discovery\/keys$/)
        assert.deepStrictEqual(printed.env, {
          ServiceFabric: {
            IDENTITY_ENDPOINT: printed.serviceFabricUrl,
            IDENTITY_HEADER: printed.env.ServiceFabric.IDENTITY_HEADER,
            IDENTITY_SERVER_THUMBPRINT: printed.thumbprint
          }
        })
        const token = ["token", "--resource", vault, "--json"]
        const faulted = yield* cli(token, printed.env.ServiceFabric)
        assert.strictEqual(faulted.code, 1)
        assert.isTrue(faulted.stderr.startsWith("TokenRequestFailed: "), faulted.stderr)
        const issued = yield* cli(token, printed.env.ServiceFabric)
        assert.strictEqual(issued.code, 0, issued.stderr)
        const expiresOn = Date.parse(JSON.parse(issued.stdout).expiresOn)
        assert.isTrue(Math.abs(expiresOn - (Date.now() + 600_000)) < 5_000, String(expiresOn))
        assert.strictEqual(yield* running.stop, 0)
      }))

    it.scopedLive("--all prints a block per source, the Azure Arc key directory included", () =>
      Effect.gen(function*() {
        const running = yield* spawnUntil(["emulator", "--all"], {}, /export NODE_EXTRA_CA_CERTS=.*\n/)
        const headings = running.stdout.split("\n").filter((line) => /^# [A-Z][\w ]+$/.test(line))
        assert.deepStrictEqual(headings, [
          "# IMDS",
          "# App Service",
          "# Service Fabric",
          "# Azure Arc",
          "# Cloud Shell",
          "# Azure Machine Learning",
          "# AKS workload identity"
        ])
        assert.match(running.stdout, /^# key files are written to (\S+): pass --arc-key-directory \1 to/m)
        assert.match(running.stdout, /^export IDENTITY_SERVER_THUMBPRINT=[0-9A-F]{40}$/m)
        assert.strictEqual(yield* running.stop, 0)
      }))

    it.live("bad flags exit 2", () =>
      Effect.gen(function*() {
        const outcomes = yield* Effect.all([
          cli(["emulator", "--all", "--source", "imds"], {}),
          cli(["emulator", "--source", "nowhere"], {}),
          cli(["emulator", "--fault", "{\"Imds\":[{\"status\":\"x\"}]}"], {}),
          cli(["emulator", "--port", "70000"], {})
        ], { concurrency: "unbounded" })
        assert.deepStrictEqual(outcomes.map((outcome) => outcome.code), [2, 2, 2, 2])
        assert.strictEqual(outcomes[0].stderr, "usage: managed-identity emulator: choose --source or --all, not both\n")
        assert.include(outcomes[1].stderr, "Unknown source 'nowhere'")
        assert.include(outcomes[2].stderr, "Invalid fault script")
      }))
  })

  it.live(
    "demo --json: a token through every source, one request for 1000 calls, the file cache across a restart, and " +
      "the federated credential's two hops",
    () =>
      Effect.gen(function*() {
        const outcome = yield* cli(["demo", "--json"], {}, 80_000)
        assert.strictEqual(outcome.code, 0, outcome.stderr)
        const rows: ReadonlyArray<{ source: string; step: string; result: string }> = JSON.parse(outcome.stdout).rows
        const results = (step: string) => rows.filter((row) => row.step === step).map((row) => row.result)
        assert.deepStrictEqual(
          Array.from(new Set(rows.map((row) => row.source))),
          [
            "IMDS",
            "App Service",
            "Service Fabric",
            "Azure Arc",
            "Cloud Shell",
            "Azure Machine Learning",
            "AKS workload identity",
            "Federated credential"
          ]
        )
        assert.deepStrictEqual(results("failed"), [])
        assert.deepStrictEqual(results("second call"), Array(7).fill("cache, no request"))
        assert.deepStrictEqual(results("file cache after a restart"), Array(7).fill("cache, no request"))
        assert.deepStrictEqual(results("1000 concurrent calls"), [
          ...Array(3).fill("1 token request"),
          "2 HTTP requests (each exchange: challenge + answer)",
          ...Array(3).fill("1 token request"),
          "0 IMDS requests, 1 STS exchange"
        ])
        assert.match(
          results("application token")[0],
          /appid=5a5a0008-0000-4000-8000-000000000008, 1 IMDS request, 1 STS exchange$/
        )
        assert.deepStrictEqual(results("another resource"), [
          "0 IMDS requests, 1 STS exchange (the assertion from the cache)"
        ])
        for (const result of results("injected 500")) {
          assert.match(result, /^identity_provider after a jittered back-off/)
        }
        assert.match(results("claims challenge")[2], /sent token_sha256_to_refresh and xms_cc=cp1$/)
        assert.match(results("claims challenge")[6], /sent the claims in the form$/)
        assert.match(results("user-assigned (client id)")[2], /^InvalidIdentity/)
        assert.match(results("user-assigned (client id)")[4], /^InvalidIdentity/)
        assert.match(results("user-assigned (client id)")[6], /appid=5c1a9b72-0d3e-4e0f-9a55-0000000000aa$/)
      }),
    90_000
  )

  describe("workload identity", () => {
    it.scopedLive(
      "emulator --source workload-identity prints the exports, NODE_EXTRA_CA_CERTS included, which make token trust the STS, and the JWKS URL its token verifies against",
      () =>
        Effect.gen(function*() {
          const running = yield* spawnUntil(
            ["emulator", "--source", "workload-identity"],
            {},
            /export NODE_EXTRA_CA_CERTS=.*\n/
          )
          const env = exportsOf(running.stdout)
          assert.deepStrictEqual(Object.keys(env), [
            "AZURE_AUTHORITY_HOST",
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_ID",
            "AZURE_FEDERATED_TOKEN_FILE",
            "NODE_EXTRA_CA_CERTS"
          ])
          assert.match(env.AZURE_AUTHORITY_HOST, /^https:\/\/127\.0\.0\.1:\d+$/)
          assert.include(Fs.readFileSync(env.NODE_EXTRA_CA_CERTS, "utf8"), "-----BEGIN CERTIFICATE-----")
          const outcome = yield* cli(["token", "--resource", vault, "--json"], env)
          assert.strictEqual(outcome.code, 0, outcome.stderr)
          const accessToken: string = JSON.parse(outcome.stdout).accessToken
          const claims = claimsOf(accessToken)
          assert.strictEqual(claims.appid, env.AZURE_CLIENT_ID)
          assert.strictEqual(claims.xms_src, "WorkloadIdentity")
          assert.include(running.stdout, `\n# tokens: RS256 JWTs issued by ${claims.iss}\n`)
          const [, jwksUri, caFile] = /^# their keys \(JWKS\): (\S+) \(its CA: (\S+)\)$/m.exec(running.stdout) ?? []
          assert.strictEqual(caFile, env.NODE_EXTRA_CA_CERTS)
          const jwks = yield* getJson(jwksUri, Fs.readFileSync(caFile, "utf8"))
          const [header, payload, signature] = accessToken.split(".")
          const key = jwks.keys.find((jwk: { kid: string }) => jwk.kid === decodeJwt(accessToken).header.kid)
          assert.isTrue(
            Crypto.verify(
              "sha256",
              Buffer.from(`${header}.${payload}`),
              Crypto.createPublicKey({ key, format: "jwk" }),
              Buffer.from(signature, "base64url")
            ),
            "the token verifies with the key the printed JWKS URL serves"
          )
          const source = yield* cli(["source"], env)
          assert.match(source.stdout, /^WorkloadIdentity\n {2}AKS workload identity: /)
          assert.strictEqual(yield* running.stop, 0)
        })
    )

    it.scopedLive("token --identity-bindings goes through the token proxy, trusting only its CA, by its SNI name", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const { NODE_EXTRA_CA_CERTS: _, ...env } = emulator.env("WorkloadIdentity", { identityBindings: true })
        const outcome = yield* cli(["token", "--resource", vault, "--identity-bindings", "--json"], env)
        assert.strictEqual(outcome.code, 0, outcome.stderr)
        const requests = yield* emulator.requests
        assert.deepStrictEqual(requests.map((request) => [request.method, request.path]), [[
          "POST",
          `/identity-binding/${emulator.workloadIdentity.tenantId}/oauth2/v2.0/token`
        ]])
        assert.strictEqual(requests[0].headers["host"], new URL(env.AZURE_KUBERNETES_TOKEN_PROXY).host)
      }))
  })

  describe("text an endpoint sent reaches the terminal escaped (issue 17, item 4)", () => {
    const hostile = "\u001b[2J\u001b]52;c;Y3VybCBldmlsIHwgc2g=\u0007\r\ndoctor: 0 errors, 0 warnings in 1 ms\u202e"
    /** Any control character but the line feeds between lines. */
    const control = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u
    const lines = (text: string) => text.split("\n")
    const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

    it.scopedLive("token: the error line on stderr is one line, its escapes shown, not run", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        yield* emulator.setFaults("Imds", [{
          status: 400,
          body: { error: `invalid_request${hostile}`, error_description: hostile }
        }])
        const outcome = yield* cli(["token", "--resource", vault], emulator.env("Imds"))
        assert.strictEqual(outcome.code, 1)
        const [line, ...rest] = lines(outcome.stderr)
        assert.deepStrictEqual(rest, [""], "one line")
        assert.notMatch(line, control)
        assert.isTrue(line.startsWith("TokenRequestFailed: Imds answered 400 invalid_request\\x1b[2J"), line)
      }))

    it.scopedLive("doctor: claims, token type and resource echo escaped on the page; --json keeps them as sent", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const claims = { aud: hostile, appid: hostile, oid: hostile, tid: hostile, iat: 1, exp: 2 }
        const token = `${base64url({ alg: "none" })}.${base64url(claims)}.`
        const answer = { access_token: token, expires_in: 3600, token_type: hostile, resource: hostile }
        yield* emulator.setFaults("Imds", [{ status: 200, body: answer }, { status: 200, body: answer }])
        const page = yield* cli(["doctor"], emulator.env("Imds"))
        for (const line of lines(page.stdout)) assert.notMatch(line, control, line)
        assert.strictEqual(lines(page.stdout).filter((line) => line.startsWith("doctor:")).length, 1)
        assert.include(page.stdout, "\\x1b]52;c;")
        const json = yield* cli(["doctor", "--json"], emulator.env("Imds"))
        const report: ManagedIdentitySource.Diagnosis = JSON.parse(json.stdout)
        assert.strictEqual(report.token?.tokenType, hostile)
        assert.strictEqual(report.token?.claims?.oid, hostile)
      }))
  })

  describe("a token file that is no regular file (issue 17, item 3)", () => {
    /** Preloaded into the CLI's process: prints its peak resident memory (KiB) on stderr when it exits. */
    const peakReporter = Path.join(bundleDirectory, "peak.cjs")
    Fs.writeFileSync(
      peakReporter,
      "process.on('exit', () => process.stderr.write('\\npeak ' + process.resourceUsage().maxRSS + '\\n'))"
    )
    const files: ReadonlyArray<readonly [string, (directory: string) => string]> = [
      ["a FIFO", (directory) => {
        ChildProcess.execFileSync("mkfifo", [Path.join(directory, "token")])
        return Path.join(directory, "token")
      }],
      ["/dev/zero", () => "/dev/zero"],
      ["a 1 GiB file", (directory) => {
        Fs.writeFileSync(Path.join(directory, "token"), "")
        Fs.truncateSync(Path.join(directory, "token"), 2 ** 30)
        return Path.join(directory, "token")
      }]
    ]
    for (const [name, make] of files) {
      it.scopedLive(`token exits 1 with a SourceUnavailable naming AZURE_FEDERATED_TOKEN_FILE: ${name}`, () =>
        Effect.gen(function*() {
          const emulator = yield* ManagedIdentityEmulator.start()
          const directory = yield* Effect.acquireRelease(
            Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "managed-identity-token-file-"))),
            (path) => Effect.sync(() => Fs.rmSync(path, { recursive: true, force: true }))
          )
          const tokenFile = make(directory)
          const outcome = yield* runNode(
            ["--require", peakReporter, bundle, "token", "--resource", vault],
            { ...emulator.env("WorkloadIdentity"), AZURE_FEDERATED_TOKEN_FILE: tokenFile },
            { timeout: 10_000 }
          )
          assert.strictEqual(outcome.code, 1, outcome.stderr)
          assert.strictEqual(outcome.stdout, "")
          assert.match(
            outcome.stderr,
            new RegExp(
              `^SourceUnavailable: WorkloadIdentity is not available at .*: AZURE_FEDERATED_TOKEN_FILE ${
                tokenFile.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
              } is (not a regular file|larger than 65536 bytes)`
            )
          )
          const peakKiB = Number(/\npeak (\d+)\n/.exec(outcome.stderr)?.[1])
          assert.isBelow(peakKiB, 200 * 1024, "the CLI's peak memory stayed under 200 MiB")
          assert.strictEqual(yield* emulator.requestCount("WorkloadIdentity"), 0)
        }))
    }
  })

  describe("NODE_TLS_REJECT_UNAUTHORIZED=0 turns off no pin (issue 17, item 6)", () => {
    const insecure = { NODE_TLS_REJECT_UNAUTHORIZED: "0" }

    const impostors: ReadonlyArray<
      readonly [string, (emulator: ManagedIdentityEmulator.Emulator) => Record<string, string>, RegExp]
    > = [
      [
        "the token proxy under another CA than AZURE_KUBERNETES_CA_FILE's",
        (emulator) => ({ AZURE_KUBERNETES_CA_FILE: emulator.workloadIdentity.caFile }),
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE/
      ],
      [
        "the token proxy under another name than AZURE_KUBERNETES_SNI_NAME",
        () => ({ AZURE_KUBERNETES_SNI_NAME: "impostor.invalid" }),
        /ERR_TLS_CERT_ALTNAME_INVALID/
      ]
    ]
    for (const [name, change, code] of impostors) {
      it.scopedLive(`${name}: InvalidIdentity, and the assertion is never sent`, () =>
        Effect.gen(function*() {
          const emulator = yield* ManagedIdentityEmulator.start()
          const { NODE_EXTRA_CA_CERTS: _, ...env } = emulator.env("WorkloadIdentity", { identityBindings: true })
          const outcome = yield* cli(
            ["token", "--resource", vault, "--identity-bindings"],
            { ...env, ...change(emulator), ...insecure }
          )
          assert.strictEqual(outcome.code, 1, outcome.stdout)
          assert.match(
            outcome.stderr,
            /^InvalidIdentity: WorkloadIdentity: the server certificate of https:\/\/127\.0\.0\.1:/m
          )
          assert.match(outcome.stderr, code)
          assert.strictEqual(yield* emulator.requestCount("WorkloadIdentity"), 0, "the impostor received nothing")
        }))
    }

    it.scopedLive("Service Fabric under another certificate than the pinned one: a mismatch, and the secret never sent", () =>
      Effect.gen(function*() {
        const emulator = yield* ManagedIdentityEmulator.start()
        const outcome = yield* cli(["token", "--resource", vault], {
          ...emulator.env("ServiceFabric"),
          IDENTITY_SERVER_THUMBPRINT: "ab".repeat(20),
          ...insecure
        })
        assert.strictEqual(outcome.code, 1, outcome.stdout)
        assert.match(outcome.stderr, /^ServiceFabricCertificateMismatch: /m)
        assert.strictEqual(yield* emulator.requestCount("ServiceFabric"), 0, "the impostor received nothing")
        assert.notInclude(outcome.stderr, emulator.secrets.serviceFabricSecret)
      }))
  })

  describe("off Azure", () => {
    it.scopedLive("a silent IMDS: token exits 1 with SourceUnavailable after the 1 s probe, never the 10 s attempts", () =>
      Effect.gen(function*() {
        const silent = yield* SilentServer.make
        const env = { AZURE_POD_IDENTITY_AUTHORITY_HOST: silent.url }
        const outcome = yield* cli(["token", "--resource", vault], env)
        assert.strictEqual(outcome.code, 1)
        assert.match(
          outcome.stderr,
          /^SourceUnavailable: Imds is not available at .*: no answer within 1s \(IMDS probe/
        )
        assert.isAtLeast(silent.connections(), 1)
      }))

    it.scopedLive("source reports the IMDS probe: no answer from a silent IMDS, 400 from the emulator's", () =>
      Effect.gen(function*() {
        const silent = yield* SilentServer.make
        const emulator = yield* ManagedIdentityEmulator.start()
        const [quiet, present] = yield* Effect.all([
          cli(["source", "--json"], { AZURE_POD_IDENTITY_AUTHORITY_HOST: silent.url }),
          cli(["source"], emulator.env("Imds"))
        ], { concurrency: "unbounded" })
        assert.strictEqual(quiet.code, 0, quiet.stderr)
        const detection = JSON.parse(quiet.stdout)
        assert.strictEqual(detection.kind, "Imds")
        assert.deepStrictEqual(Object.keys(detection.probe), ["answered", "error", "message"])
        assert.strictEqual(detection.probe.answered, false)
        assert.strictEqual(detection.probe.error, "SourceUnavailable")
        assert.include(detection.probe.message, "no answer within 1s")
        assert.strictEqual(present.code, 0, present.stderr)
        assert.match(
          present.stdout,
          /\n {2}IMDS probe: answered 400 within 1s to a request for no token: IMDS is there\n$/
        )
        const [probe] = yield* emulator.requests
        assert.isUndefined(probe.headers["metadata"])
      }))
  })

  it.live("--help exits 0 on every command", () =>
    Effect.gen(function*() {
      const commands = [[], ["token"], ["source"], ["emulator"], ["demo"], ["doctor"]]
      const outcomes = yield* Effect.all(commands.map((command) => cli([...command, "--help"], {})), {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(outcomes.map((outcome) => outcome.code), [0, 0, 0, 0, 0, 0])
      assert.include(outcomes[0].stdout, "emulator [--port integer]")
      assert.include(outcomes[1].stdout, "$ token --resource uri")
      assert.include(outcomes[2].stdout, "$ source [--json]")
      assert.include(outcomes[3].stdout, "test secrets")
      assert.include(outcomes[4].stdout, "$ demo")
      assert.include(outcomes[5].stdout, "$ doctor [--resource uri] [--budget seconds]")
    }))

  describe("terminals (issue 17, item 8)", () => {
    const escape = String.fromCharCode(0x1b)

    it.live("no ANSI escape when stdout and stderr are not terminals: help pages and usage errors included", () =>
      Effect.gen(function*() {
        const outcomes = yield* Effect.all([
          cli(["--help"], {}),
          cli(["doctor", "--help"], {}),
          cli(["token"], {}),
          cli(["token", "--nope"], {})
        ], { concurrency: "unbounded" })
        assert.deepStrictEqual(outcomes.map((outcome) => outcome.code), [0, 0, 2, 2])
        assert.include(outcomes[0].stdout, "USAGE")
        assert.include(outcomes[2].stderr, "--resource")
        for (const outcome of outcomes) assert.notInclude(outcome.stdout + outcome.stderr, escape)
      }))

    /** `node <bundle> <args>` on a pseudo-terminal (util-linux `script`), its output as the terminal showed it. */
    const onTerminal = (args: string, env: Record<string, string>) =>
      Effect.async<string>((resume) => {
        const child = ChildProcess.execFile(
          "script",
          ["-qec", `${process.execPath} ${bundle} ${args}`, "/dev/null"],
          { env: childEnv(env), timeout: 15_000 },
          (_, stdout) => resume(Effect.succeed(stdout))
        )
        return Effect.sync(() => child.kill())
      })

    it.live("on a terminal, help is in colour unless NO_COLOR is set", () =>
      Effect.gen(function*() {
        const [coloured, plain] = yield* Effect.all([
          onTerminal("--help", {}),
          onTerminal("--help", { NO_COLOR: "1" })
        ], { concurrency: "unbounded" })
        assert.include(coloured, `${escape}[`)
        assert.include(plain, "USAGE")
        assert.notInclude(plain, escape)
      }))

    it.live("--wizard off a terminal: a usage error at once instead of a prompt that waits forever", () =>
      Effect.gen(function*() {
        const outcome = yield* runNode([bundle, "--wizard"], {}, { timeout: 10_000 })
        assert.strictEqual(outcome.code, 2, outcome.stdout)
        assert.strictEqual(outcome.stdout, "")
        assert.strictEqual(
          outcome.stderr,
          "usage: managed-identity: --wizard asks its questions on a terminal, and stdin or stdout is not one: give the flags instead\n"
        )
        const piped = yield* onTerminal("--wizard | cat", {})
        assert.include(
          piped,
          "usage: managed-identity: --wizard asks its questions on a terminal, and stdin or stdout is not one"
        )
      }))
  })

  it.live("on every command, an unknown flag or a flag without its value is one usage line naming the program", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["token", "--resource", vault, "--frob"], "managed-identity token: unknown flag or argument --frob"],
        [["source", "--client-id"], "managed-identity source: --client-id needs a value"],
        [["doctor", "--budget", "--json"], "managed-identity doctor: --budget needs a value"],
        [["doctor", "--frob"], "managed-identity doctor: unknown flag or argument --frob"],
        [["emulator", "--port"], "managed-identity emulator: --port needs a value"],
        [["demo", "--frob"], "managed-identity demo: unknown flag or argument --frob"],
        [["frob"], "managed-identity: Invalid subcommand for managed-identity"]
      ]
      const outcomes = yield* Effect.all(cases.map(([args]) => cli(args, {})), { concurrency: 2 })
      for (const [index, [args, expected]] of cases.entries()) {
        const outcome = outcomes[index]
        assert.strictEqual(outcome.code, 2, `${args.join(" ")}: ${outcome.stderr}`)
        assert.strictEqual(outcome.stdout, "")
        assert.match(outcome.stderr, /^usage: [^\n]*\n$/, outcome.stderr)
        assert.include(outcome.stderr, `usage: ${expected}`)
      }
    }))
})
