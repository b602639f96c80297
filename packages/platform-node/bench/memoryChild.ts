import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { Library } from "./common.js"
import { makeIdentity, makeMsal, makeOurs, scopeOf } from "./common.js"

const library = process.argv[2] as Library
const count = Number(process.argv[3])
const gc = (globalThis as { gc?: () => void }).gc!

const collect = () => {
  for (let i = 0; i < 4; i++) gc()
  return process.memoryUsage().heapUsed
}

const ours = library === "ours" ? await makeOurs() : undefined
const call: (resource: string) => Promise<string> = ours !== undefined
  ? (resource) => Effect.runPromise(Effect.map(ours.client.getToken(resource), (token) => Redacted.value(token.token)))
  : library === "msal-node"
  ? await makeMsal().then((app) => (resource: string) => app.acquireToken({ resource }).then((r) => r.accessToken))
  : await makeIdentity().then((credential) => (resource: string) =>
    credential.getToken(scopeOf(resource)).then((token) => token!.token)
  )
const withRetries = (resource: string, attempt = 0): Promise<string> =>
  call(resource).catch((error) => attempt < 5 ? withRetries(resource, attempt + 1) : Promise.reject(error))
const tokenLength = (await call("https://memory-warm.example.com")).length
const resources = Array.from({ length: count }, (_, i) => `https://memory-${i}.example.com`)
const before = collect()
for (let i = 0; i < count; i += 10) {
  await Promise.all(resources.slice(i, i + 10).map((resource) => withRetries(resource)))
}
const after = collect()
for (const resource of resources.slice(0, 10)) await call(resource)
process.stdout.write(JSON.stringify({ bytesPerToken: (after - before) / count, tokenLength }))
await ours?.dispose()
