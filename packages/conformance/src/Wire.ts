/**
 * The wire requests of every source, as the endpoint received them, in a canonical text: method, path and query as
 * sent, the headers the library sets (sorted by name; those the HTTP runtime adds are left out: `host`, `connection`,
 * `user-agent`, `accept*`, `sec-fetch-mode`, `content-length`) and the body. Ports, secrets, the federated token,
 * Azure Arc's key and the random request id are replaced by placeholders. Both lines must produce exactly `wire.json` (written from the 3.x line
 * with `CONFORMANCE_WRITE=1`).
 */
import * as Fs from "node:fs"
import { allSources, type Handle, type RecordedRequest, type SourceKind, withEmulator } from "./Emulator.js"
import { hostOf, type Identity, type Line, withClient } from "./Line.js"

/** The resource every request asks for. */
export const resource = "https://vault.azure.net"

/** A client id no emulator source knows: a user-assigned request must still be sent as the source sends it. */
const userAssigned: Identity = { kind: "ClientId", value: "5a5a0009-0000-4000-8000-000000000009" }

/** The wire cases: every source with the system-assigned identity, and those that take one with a client id. */
export const cases: ReadonlyArray<{ readonly name: string; readonly kind: SourceKind; readonly identity: Identity }> = [
  ...allSources.map((kind) => ({
    name: `${kind} system-assigned`,
    kind,
    identity: { kind: "SystemAssigned" } as const
  })),
  ...(["Imds", "AppService", "MachineLearning"] as const).map((kind) => ({
    name: `${kind} client id`,
    kind,
    identity: userAssigned
  }))
]

const runtimeHeaders = new Set([
  "host",
  "connection",
  "user-agent",
  "accept",
  "accept-encoding",
  "accept-language",
  "sec-fetch-mode",
  "content-length",
  "traceparent",
  "b3"
])

/** A random (version 4) UUID, as `x-ms-client-request-id` carries one per request. */
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const replaceAll = (text: string, replacements: ReadonlyArray<readonly [string, string]>) =>
  replacements.reduce((result, [value, placeholder]) => result.split(value).join(placeholder), text)
    .replace(/127\.0\.0\.1(%3A|:)\d+/g, "127.0.0.1$1{port}")

/** One request in the canonical text. */
export const canonical = (
  request: RecordedRequest,
  replacements: ReadonlyArray<readonly [string, string]>
): string => {
  const query = new URLSearchParams(Object.entries(request.query)).toString()
  const headers = Object.entries(request.headers)
    .filter(([name]) => !runtimeHeaders.has(name))
    .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    .map(([name, value]) => `${name}: ${name === "x-ms-client-request-id" ? value.replace(uuid, "{uuid}") : value}`)
  return replaceAll(
    [`${request.method} ${request.path}${query === "" ? "" : `?${query}`}`, ...headers, "", request.body].join("\n"),
    replacements
  )
}

const placeholders = async (handle: Handle): Promise<ReadonlyArray<readonly [string, string]>> => {
  const [federatedToken, identityHeader, msiSecret, serviceFabricSecret, arcKey] = await handle.secrets()
  return [
    [federatedToken, "{federated token}"],
    [identityHeader, "{IDENTITY_HEADER}"],
    [msiSecret, "{MSI_SECRET}"],
    [serviceFabricSecret, "{Service Fabric IDENTITY_HEADER}"],
    ...(arcKey === undefined ? [] : [[arcKey, "{Azure Arc key}"] as const])
  ]
}

/** Every wire case through `line`: the canonical requests each source's endpoint received for one token. */
export const wire = (line: Line): Promise<Record<string, ReadonlyArray<string>>> =>
  withEmulator(async (handle) => {
    const result: Record<string, ReadonlyArray<string>> = {}
    for (const { identity, kind, name } of cases) {
      await handle.clearRequests()
      await withClient(line, { host: hostOf(handle, kind), identity }, (client) => client.getToken(resource))
      const requests = await handle.requests(kind)
      const replacements = await placeholders(handle)
      result[name] = requests.map((request) => canonical(request, replacements))
    }
    return result
  })

const goldenFile = new URL("../wire.json", import.meta.url)

/** The wire requests both lines must send (`wire.json`); `CONFORMANCE_WRITE=1` writes `actual` there first. */
export const expected = (actual: Record<string, ReadonlyArray<string>>): Record<string, ReadonlyArray<string>> => {
  if (process.env.CONFORMANCE_WRITE === "1") Fs.writeFileSync(goldenFile, JSON.stringify(actual, null, 2) + "\n")
  return JSON.parse(Fs.readFileSync(goldenFile, "utf8"))
}
