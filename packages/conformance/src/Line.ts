/**
 * What the conformance suite asks of an Effect line: a client on a host, built by the line's own one-layer Node
 * wiring, reached through Promises. Each line implements it in a test helper (platform-node for 3.x, effect4-node for
 * 4.x); the suite drives the emulator and compares what the caller got and what reached the endpoint.
 */
import type { Handle, SourceKind } from "./Emulator.js"

/** The identity to ask for, as plain data. */
export type Identity =
  | { readonly kind: "SystemAssigned" }
  | { readonly kind: "ClientId" | "ObjectId" | "ResourceId"; readonly value: string }

/**
 * The retry schedule and timeouts of the detected source: `retries` retries `spacingMillis` apart, and how long IMDS's
 * probe waits for a first answer when IMDS is the fallback.
 */
export interface Timing {
  readonly retries: number
  readonly spacingMillis: number
  readonly attemptTimeoutMillis: number
  readonly deadlineMillis: number
  readonly probeTimeoutMillis: number
}

/** The host the client runs on. */
export interface Host {
  /** The process environment, given to the client as its `ConfigProvider`. */
  readonly env: Readonly<Record<string, string>>
  /** Azure Arc's key directory (the emulator's). */
  readonly arcKeyDirectory: string
  /** For workload identity: the `fetch` the client's `HttpClient` uses, trusting the emulator's STS CA. */
  readonly fetch?: typeof globalThis.fetch | undefined
}

/** What a client is built from. */
export interface ClientOptions {
  readonly host: Host
  readonly identity: Identity
  readonly timing?: Timing | undefined
  /** The client's `verifyIdentity` option: every token checked against the identity asked for. */
  readonly verifyIdentity?: boolean | undefined
}

/** What a caller got: a token, or the tag of the error and how it prints (`String` and `JSON.stringify`). */
export type Outcome =
  | { readonly outcome: "token"; readonly token: string }
  | { readonly outcome: string; readonly printed: string }

/** One client, its cache and single flight shared by every call. */
export interface Client {
  readonly getToken: (resource: string) => Promise<Outcome>
  /** `callers` calls of `getToken(resource)` at once, in one fiber each. */
  readonly getTokenConcurrently: (resource: string, callers: number) => Promise<ReadonlyArray<Outcome>>
  readonly dispose: () => Promise<void>
}

/** An Effect line's Node stack, as the suite drives it. */
export interface Line {
  readonly name: string
  readonly makeClient: (options: ClientOptions) => Promise<Client>
}

/** The host of `kind` that reaches `handle`: its variables (by default `handle.env(kind)`), keys and trust. */
export const hostOf = (
  handle: Handle,
  kind: SourceKind,
  env: Readonly<Record<string, string>> = handle.env(kind)
): Host => ({
  env,
  arcKeyDirectory: handle.emulator.arcKeyDirectory,
  fetch: kind === "WorkloadIdentity" ? handle.fetch : undefined
})

/** Builds a client, runs `use` and disposes of the client. */
export const withClient = async <A>(
  line: Line,
  options: ClientOptions,
  use: (client: Client) => Promise<A>
): Promise<A> => {
  const client = await line.makeClient(options)
  try {
    return await use(client)
  } finally {
    await client.dispose()
  }
}
