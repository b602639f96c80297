/**
 * The emulator's STS with a managed identity as a federated credential: it exchanges a managed identity token it issued
 * itself (known by its own record, not by a signature) for an application's token, and answers anything else in
 * Entra's words.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Https from "@managed-identity/test-utils/Https"
import { claimsOf } from "@managed-identity/test-utils/Jwt"
import { Effect, TestClock } from "effect"
import * as ManagedIdentityEmulator from "../src/ManagedIdentityEmulator.js"

const graph = "https://graph.microsoft.com"
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
const application = ManagedIdentityEmulator.systemAssignedIdentities.FederatedCredential

/** A managed identity token from the emulator's IMDS for `resource`. */
const imdsToken = (emulator: ManagedIdentityEmulator.Emulator, resource: string) =>
  Effect.promise(async () => {
    const url = `${emulator.baseUrl}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${
      encodeURIComponent(resource)
    }`
    const answer = await fetch(url, { headers: { Metadata: "true" } })
    return ((await answer.json()) as { readonly access_token: string }).access_token
  })

/** The exchange of `assertion` at the STS, for `clientId` in `tenant`. */
const exchange = (
  emulator: ManagedIdentityEmulator.Emulator,
  assertion: string,
  {
    clientId = application.clientId,
    tenant = emulator.env("FederatedCredential").MANAGED_IDENTITY_FEDERATED_TENANT_ID
  } = {}
) =>
  Https.postForm(`${emulator.workloadIdentity.authorityHost}/${tenant}/oauth2/v2.0/token`, {
    client_id: clientId,
    scope: `${graph}/.default`,
    grant_type: "client_credentials",
    client_assertion_type: jwtBearer,
    client_assertion: assertion
  }, { ca: emulator.workloadIdentity.caCertificate })

const aadsts = (answer: { readonly json: any }) => answer.json.error_codes?.[0]

describe("the emulator's STS, a managed identity as a federated credential", () => {
  it.scoped("exchanges its own managed identity token for the exchange audience for the application's token", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const assertion = yield* imdsToken(emulator, "api://AzureADTokenExchange")
      const answer = yield* exchange(emulator, assertion)
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(Object.keys(answer.json), [
        "token_type",
        "expires_in",
        "ext_expires_in",
        "refresh_in",
        "access_token"
      ])
      const claims = claimsOf(answer.json.access_token)
      assert.strictEqual(claims.appid, application.clientId)
      assert.strictEqual(claims.aud, graph)
      const sources = (yield* emulator.requests).map((request) => request.source)
      assert.deepStrictEqual(sources, ["Imds", "FederatedCredential"])
    }))

  it.scoped("refuses what Entra refuses, each with its AADSTS code", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start()
      const assertion = yield* imdsToken(emulator, "api://AzureADTokenExchange")
      const otherAudience = yield* imdsToken(emulator, "https://vault.azure.net")
      const appToken = (yield* exchange(emulator, assertion)).json.access_token
      const refusals = yield* Effect.all({
        otherAudience: exchange(emulator, otherAudience),
        notIssued: exchange(emulator, `${assertion.slice(0, -4)}abcd`),
        applicationToken: exchange(emulator, appToken),
        unknownApplication: exchange(emulator, assertion, { clientId: "0d0d0d0d-0000-4000-8000-000000000000" }),
        unknownTenant: exchange(emulator, assertion, { tenant: "contoso.onmicrosoft.com" })
      })
      assert.deepStrictEqual(
        Object.fromEntries(Object.entries(refusals).map(([name, answer]) => [name, [answer.status, aadsts(answer)]])),
        {
          otherAudience: [400, 700212],
          notIssued: [400, 700211],
          applicationToken: [400, 700211],
          unknownApplication: [400, 700016],
          unknownTenant: [400, 90002]
        }
      )
    }))

  it.scoped("an assertion past its expiry: AADSTS700024", () =>
    Effect.gen(function*() {
      const emulator = yield* ManagedIdentityEmulator.start({ tokenLifetime: "1 hour" })
      const assertion = yield* imdsToken(emulator, "api://AzureADTokenExchange")
      yield* TestClock.adjust("1 hour")
      const answer = yield* exchange(emulator, assertion)
      assert.deepStrictEqual([answer.status, aadsts(answer)], [400, 700024])
    }))

  it.scoped("appRegistrations: another application, in another tenant, trusting another audience", () =>
    Effect.gen(function*() {
      const app = {
        clientId: "3c1f7a52-0000-4000-8000-000000000001",
        tenantId: "contoso.onmicrosoft.com",
        audience: "api://AzureADTokenExchangeUSGov"
      }
      const emulator = yield* ManagedIdentityEmulator.start({ appRegistrations: [app] })
      const assertion = yield* imdsToken(emulator, app.audience)
      const answer = yield* exchange(emulator, assertion, { clientId: app.clientId, tenant: app.tenantId })
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(claimsOf(answer.json.access_token).appid, app.clientId)
      const defaultApp = yield* exchange(emulator, assertion)
      assert.strictEqual(aadsts(defaultApp), 90002)
    }))
})
