import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createPipelineRequest
} from "@azure/core-rest-pipeline"
import { assert, describe, it } from "@effect/vitest"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import * as TokenCache from "@managed-identity/core/TokenCache"
import * as TokenCredential from "@managed-identity/core/TokenCredential"
import * as RecordingSource from "@managed-identity/test-utils/RecordingSource"
import { Layer, ManagedRuntime } from "effect"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import { certificate, privateKey } from "./utils/loopbackTls.js"

const scope = "https://vault.azure.net/.default"
const claims = `{"access_token":{"nbf":{"essential":true,"value":"1726077595"}}}`
const challenge =
  `Bearer realm="", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzI2MDc3NTk1In19fQ=="`

/** A Key Vault look-alike on 127.0.0.1 (HTTPS: the SDK policy refuses bearer tokens over http). */
const startVault = async (options: { readonly challengeFirst: boolean }) => {
  const seen: Array<string | undefined> = []
  let challenged = false
  const server = Https.createServer({ cert: certificate, key: privateKey }, (request, response) => {
    seen.push(request.headers.authorization)
    if (options.challengeFirst && !challenged) {
      challenged = true
      response.writeHead(401, { "www-authenticate": challenge }).end()
    } else if (request.headers.authorization?.startsWith("Bearer token-")) {
      response.writeHead(200, { "content-type": "application/json" }).end(`{"value":"s3cret"}`)
    } else {
      response.writeHead(401).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    seen,
    url: `https://127.0.0.1:${port}/secrets/db?api-version=7.4`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const adapter = () => {
  const source = RecordingSource.make({ lifetimeMillis: 86_400_000 })
  const runtime = ManagedRuntime.make(
    ManagedIdentityClient.layer.pipe(Layer.provide(source.layer), Layer.provide(TokenCache.layerMemory))
  )
  return { requests: source.requests, runtime, credential: TokenCredential.make(runtime) }
}

const send = (credential: TokenCredential.TokenCredential.Service, url: string) => {
  const pipeline = createEmptyPipeline()
  pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential, scopes: scope }))
  const request = createPipelineRequest({ url })
  request.agent = new Https.Agent({ ca: certificate })
  return pipeline.sendRequest(createDefaultHttpClient(), request)
}

describe("TokenCredential with @azure/core-rest-pipeline", () => {
  it("bearerTokenAuthenticationPolicy authenticates with the adapter's token", async () => {
    const vault = await startVault({ challengeFirst: false })
    const { credential, requests, runtime } = adapter()
    try {
      const first = await send(credential, vault.url)
      const second = await send(credential, vault.url)
      assert.strictEqual(first.status, 200)
      assert.strictEqual(first.bodyAsText, `{"value":"s3cret"}`)
      assert.strictEqual(second.status, 200)
      assert.deepStrictEqual(vault.seen, ["Bearer token-1", "Bearer token-1"])
      assert.deepStrictEqual(requests, [{ resource: "https://vault.azure.net" }])
    } finally {
      await runtime.dispose()
      await vault.close()
    }
  })

  it("the policy's CAE flow: a 401 claims challenge brings a token with the claims and one retry", async () => {
    const vault = await startVault({ challengeFirst: true })
    const { credential, requests, runtime } = adapter()
    try {
      const response = await send(credential, vault.url)
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(vault.seen, ["Bearer token-1", "Bearer token-2"])
      assert.deepStrictEqual(requests, [
        { resource: "https://vault.azure.net" },
        { resource: "https://vault.azure.net", claims }
      ])
    } finally {
      await runtime.dispose()
      await vault.close()
    }
  })
})
