/**
 * The emulator's model: the schemas and types that the public `ManagedIdentityEmulator` module re-exports and its
 * internal modules (faults, identities, protocol, server) share.
 */
import * as TokenSource from "@managed-identity/core/TokenSource"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { OpenId } from "./signing.js"

/** @internal */
export const SourceKind = TokenSource.SourceKind

/** @internal */
export type SourceKind = TokenSource.SourceKind

/** A step repeats at most this many times in a script decoded from JSON. */
const maxTimes = 10_000

/** A script decoded from JSON has at most this many steps as written… */
const maxSteps = 1000

/** …and at most this many once each step's `times` is counted. */
const maxExpandedSteps = 10_000

/**
 * Fault scripts as JSON text are at most this long (and `PUT /_emulator/faults` reads at most this many bytes).
 *
 * @internal
 */
export const maxScriptText = 1024 * 1024

const times = {
  times: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(1, maxTimes)).annotations({ description: `an integer from 1 to ${maxTimes}` }),
    { exact: true }
  )
}

/**
 * Steps that change the next token issued rather than the answer: they wait in the queue until a token is issued.
 *
 * @internal
 */
export const TokenFault = Schema.Union(
  Schema.Struct({ otherIdentity: Schema.Literal(true), ...times }),
  Schema.Struct({ skew: Schema.Int, ...times })
)

/** @internal */
export type TokenFault = typeof TokenFault.Type

/** @internal */
export const ReplyFault = Schema.Union(
  Schema.Struct({
    status: Schema.Int.pipe(Schema.between(100, 599)),
    body: Schema.optionalWith(Schema.Unknown, { exact: true }),
    headers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { exact: true }),
    ...times
  }),
  Schema.Struct({ delay: Schema.NonNegative, ...times }),
  Schema.Struct({ reset: Schema.Literal(true), ...times }),
  Schema.Struct({ hang: Schema.Literal(true), ...times }),
  Schema.Struct({ malformedJson: Schema.Literal(true), ...times }),
  Schema.Struct({ oversized: Schema.Literal(true), ...times }),
  Schema.Struct({ trickle: Schema.NonNegative, ...times }),
  Schema.Struct({ aadsts: Schema.Int.pipe(Schema.positive()), ...times }),
  Schema.Struct({ truncated: Schema.Literal(true), ...times }),
  Schema.Struct({ echo: Schema.Int.pipe(Schema.between(400, 599)), ...times })
)

/** @internal */
export type ReplyFault = typeof ReplyFault.Type

/** @internal */
export const FaultStep = Schema.Union(ReplyFault, TokenFault)

/** @internal */
export type FaultStep = typeof FaultStep.Type

/**
 * Whether a step changes the next token issued (rather than the next answer).
 *
 * @internal
 */
export const isTokenFault = (step: FaultStep): step is TokenFault => "otherIdentity" in step || "skew" in step

/** @internal */
export const FaultScripts = Schema.partialWith(
  Schema.Record({
    key: SourceKind,
    value: Schema.Array(FaultStep).pipe(
      Schema.maxItems(maxSteps, { message: () => `a script has at most ${maxSteps} steps` })
    )
  }),
  { exact: true }
)

/** @internal */
export type FaultScripts = typeof FaultScripts.Type

/** @internal */
export class EmulatorError extends Schema.TaggedError<EmulatorError>()("EmulatorError", {
  message: Schema.String
}) {}

/**
 * An `EmulatorError` saying what could not be done and why.
 *
 * @internal
 */
export const failWith = (message: string) => (cause: unknown): EmulatorError =>
  new EmulatorError({ message: `${message}: ${cause instanceof Error ? cause.message : String(cause)}` })

/** A fault script is a few levels deep; anything deeper is refused before its parse error is formatted. */
const maxFaultScriptDepth = 8

const nestedDeeperThan = (value: unknown, limit: number): boolean => {
  const pending: Array<readonly [unknown, number]> = [[value, 0]]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next
    if (typeof item !== "object" || item === null) continue
    if (depth >= limit) return true
    for (const child of Object.values(item)) pending.push([child, depth + 1])
  }
  return false
}

/** The first script that expands to more than {@link maxExpandedSteps} steps, and to how many. */
const overlong = (scripts: FaultScripts): string | undefined => {
  for (const [kind, steps] of Object.entries(scripts)) {
    const expanded = (steps ?? []).reduce((total, step) => total + (step.times ?? 1), 0)
    if (expanded > maxExpandedSteps) return `${kind} expands to ${expanded} steps, more than ${maxExpandedSteps}`
  }
  return undefined
}

/**
 * Decodes fault scripts from JSON, bounded so that no script can stall or bloat the emulator: at most 1 MiB of text, 8
 * levels deep, 1000 steps a source, `times` up to 10 000, and 10 000 steps a source once `times` is counted.
 *
 * @internal
 */
export const decodeFaultScripts = (json: string): Effect.Effect<FaultScripts, EmulatorError> => {
  const invalid = (reason: string) => Effect.fail(new EmulatorError({ message: `Invalid fault script: ${reason}` }))
  if (json.length > maxScriptText) return invalid(`the text is larger than ${maxScriptText} characters`)
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return invalid("the text is not valid JSON")
  }
  if (nestedDeeperThan(parsed, maxFaultScriptDepth)) {
    return invalid(`nested deeper than ${maxFaultScriptDepth} levels`)
  }
  return Schema.decodeUnknown(FaultScripts, { onExcessProperty: "error" })(parsed).pipe(
    Effect.mapError((error) => new EmulatorError({ message: `Invalid fault script: ${error.message}` })),
    Effect.filterOrElse((scripts) => overlong(scripts) === undefined, (scripts) => invalid(overlong(scripts)!))
  )
}

/** @internal */
export interface Identity {
  readonly clientId: string
  readonly objectId: string
  readonly resourceId: string
}

/** @internal */
export interface AppRegistration {
  /** The application's client id. */
  readonly clientId: string
  /** Its tenant: the STS serves `/{tenantId}/oauth2/v2.0/token` for it. */
  readonly tenantId: string
  /** The audience of the managed identity tokens it trusts (default `api://AzureADTokenExchange`). */
  readonly audience?: string
}

/** @internal */
export interface Options {
  /** Port of the HTTP server; `0` (the default) picks a free one. Service Fabric always gets a free port. */
  readonly port?: number
  /** Lifetime of issued tokens; default 86400 seconds. */
  readonly tokenLifetime?: Duration.DurationInput
  /** Where Azure Arc key files are written; default a fresh temporary directory removed on close. */
  readonly arcKeyDirectory?: string
  /** Fault scripts to start with. */
  readonly faults?: FaultScripts
  /** When given, a user-assigned id not listed gets the endpoint's "identity not found" error. */
  readonly knownIdentities?: ReadonlyArray<Identity>
  /**
   * Applications that trust every managed identity of the emulator as a federated credential: the STS exchanges a
   * managed identity token the emulator issued for their audience for a token of theirs. Default: one, client id
   * `5a5a0008-0000-4000-8000-000000000008` in tenant `f2f2f2f2-0000-4000-8000-000000000000`
   * (`env("FederatedCredential")` names it).
   */
  readonly appRegistrations?: ReadonlyArray<AppRegistration>
  /** Key and certificate (PEM) of the Service Fabric server; default a shipped self-signed pair. */
  readonly tls?: { readonly key: string; readonly cert: string }
}

/** @internal */
export interface RecordedRequest {
  readonly source: SourceKind
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /** Epoch milliseconds. */
  readonly at: number
}

/** @internal */
export interface Secrets {
  /** App Service's `IDENTITY_HEADER`. */
  readonly identityHeader: string
  /** Azure Machine Learning's `MSI_SECRET`. */
  readonly msiSecret: string
  /** Service Fabric's `IDENTITY_HEADER`. */
  readonly serviceFabricSecret: string
}

/** @internal */
export interface WorkloadIdentity {
  /** `AZURE_AUTHORITY_HOST`: the STS, `https://127.0.0.1:<port>`, its certificate issued by {@link caCertificate}. */
  readonly authorityHost: string
  /** `AZURE_TENANT_ID`. */
  readonly tenantId: string
  /** `AZURE_CLIENT_ID`: the client id of the pod's (system-assigned) workload identity. */
  readonly clientId: string
  /** `AZURE_FEDERATED_TOKEN_FILE`: the projected service-account token, rewritten by {@link rotate}. */
  readonly tokenFile: string
  /** The STS's CA certificate (PEM). */
  readonly caCertificate: string
  /** A file holding {@link caCertificate}, for `NODE_EXTRA_CA_CERTS`. */
  readonly caFile: string
  /** `AZURE_KUBERNETES_TOKEN_PROXY`: the identity-binding token proxy, `https://127.0.0.1:<port>/identity-binding`. */
  readonly tokenProxy: string
  /** `AZURE_KUBERNETES_SNI_NAME`: the only name the proxy's certificate is valid for. */
  readonly sniName: string
  /** The proxy's CA certificate (PEM), another CA than the STS's. */
  readonly proxyCaCertificate: string
  /** `AZURE_KUBERNETES_CA_FILE`: a file holding {@link proxyCaCertificate}. */
  readonly proxyCaFile: string
  /** The token file's current content. */
  readonly federatedToken: Effect.Effect<Redacted.Redacted<string>>
  /** Writes a new federated token into the token file, as kubelet does; the STS then refuses the old one as expired. */
  readonly rotate: Effect.Effect<Redacted.Redacted<string>>
}

/** @internal */
export interface Emulator {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string
  /** The full Service Fabric `IDENTITY_ENDPOINT`, `https://127.0.0.1:<port>/metadata/identity/oauth2/token`. */
  readonly serviceFabricUrl: string
  /** SHA-1 of the Service Fabric certificate (DER), 40 upper-case hex characters. */
  readonly thumbprint: string
  readonly arcKeyDirectory: string
  /** Random per start. */
  readonly secrets: Secrets
  /** The STS, the token proxy and the federated token file of workload identity. */
  readonly workloadIdentity: WorkloadIdentity
  /** The issuer of every access token, and where the STS publishes the keys that sign them. */
  readonly openId: OpenId
  /**
   * Exactly the variables a process needs to detect `kind` and reach this emulator. For workload identity they include
   * `NODE_EXTRA_CA_CERTS` (the STS's CA file) and, with `identityBindings`, the `AZURE_KUBERNETES_*` variables of the
   * token proxy.
   */
  readonly env: (kind: SourceKind, options?: { readonly identityBindings?: boolean }) => Record<string, string>
  /** Every request to a token endpoint, in order; the control endpoint is not recorded. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly requestCount: (kind?: SourceKind) => Effect.Effect<number>
  readonly clearRequests: Effect.Effect<void>
  /** Replaces the fault script of `kind`. */
  readonly setFaults: (kind: SourceKind, steps: ReadonlyArray<FaultStep>) => Effect.Effect<void>
  /** The key written by the latest Azure Arc challenge. */
  readonly lastArcKey: Effect.Effect<Option.Option<Redacted.Redacted<string>>>
}
