/**
 * Which managed identity source this host has, detected from the environment, and the layer that provides it.
 *
 * Detection follows PROTOCOL.md's table, first match wins (a variable set but empty counts as unset):
 *
 * 0. AKS workload identity: `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_TENANT_ID` and a client id (the `ClientId` in
 *    context, else `AZURE_CLIENT_ID`); when only some are there, the reasons say which is missing
 * 1. Service Fabric: `IDENTITY_ENDPOINT`, `IDENTITY_HEADER` and `IDENTITY_SERVER_THUMBPRINT`
 * 2. App Service: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`
 * 3. Azure Machine Learning: `MSI_ENDPOINT` and `MSI_SECRET`
 * 4. Cloud Shell: `MSI_ENDPOINT`
 * 5. Azure Arc: `IDENTITY_ENDPOINT` and `IMDS_ENDPOINT`, else the agent binary exists (Linux
 *    `/opt/azcmagent/bin/himds`, Windows `%ProgramFiles%\AzureConnectedMachineAgent\himds.exe`)
 * 6. IMDS otherwise, its first contact bounded by a probe (`probeTimeout`, default 1 s)
 *
 * {@link diagnose} explains a host: the detection, what the variables point at, one timed request, the identity and
 * issue time the token names, and the cache, as a report of findings (`managed-identity doctor` prints it).
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { AccessToken } from "./AccessToken.js"
import * as AppServiceTokenSource from "./AppServiceTokenSource.js"
import * as AzureArcTokenSource from "./AzureArcTokenSource.js"
import * as CloudShellTokenSource from "./CloudShellTokenSource.js"
import * as ImdsTokenSource from "./ImdsTokenSource.js"
import * as Model from "./internal/diagnosis.js"
import * as Environment from "./internal/environment.js"
import * as Transport from "./internal/transport.js"
import * as MachineLearningTokenSource from "./MachineLearningTokenSource.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import * as ManagedIdentityClient from "./ManagedIdentityClient.js"
import type { ManagedIdentityError } from "./ManagedIdentityError.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as ServiceFabricTokenSource from "./ServiceFabricTokenSource.js"
import * as TokenCache from "./TokenCache.js"
import * as TokenSource from "./TokenSource.js"
import * as WorkloadIdentityTokenSource from "./WorkloadIdentityTokenSource.js"

/**
 * The operating system, as Node's `process.platform` names it (`"linux"`, `"win32"`, `"darwin"`, …). Core has no
 * way to know it, so a platform package provides it; tests provide any value.
 *
 * @since 0.1.0
 * @category tags
 */
export class HostPlatform extends Context.Tag("@managed-identity/core/ManagedIdentitySource/HostPlatform")<
  HostPlatform,
  string
>() {}

/**
 * @since 0.1.0
 * @category layers
 */
export const layerHostPlatform = (platform: string): Layer.Layer<HostPlatform> => Layer.succeed(HostPlatform, platform)

/**
 * The variables detection reads, in table order.
 *
 * @since 0.1.0
 * @category constants
 */
export const variables = [
  "AZURE_FEDERATED_TOKEN_FILE",
  "AZURE_TENANT_ID",
  "AZURE_CLIENT_ID",
  "IDENTITY_ENDPOINT",
  "IDENTITY_HEADER",
  "IDENTITY_SERVER_THUMBPRINT",
  "MSI_ENDPOINT",
  "MSI_SECRET",
  "IMDS_ENDPOINT"
] as const

/**
 * The Azure Arc agent binary on Linux.
 *
 * @since 0.1.0
 * @category constants
 */
export const linuxArcAgentPath = "/opt/azcmagent/bin/himds"

/**
 * A file detection looked for.
 *
 * @since 0.1.0
 * @category models
 */
export interface FileChecked {
  readonly path: string
  readonly exists: boolean
}

/**
 * The detected source and why. `variablesSeen` holds names only, never values; `reasons` starts with the
 * deciding rule, then lists the variables seen and each file checked.
 *
 * @since 0.1.0
 * @category models
 */
export interface Detection {
  readonly kind: TokenSource.SourceKind
  readonly reasons: ReadonlyArray<string>
  readonly variablesSeen: ReadonlyArray<string>
  readonly filesChecked: ReadonlyArray<FileChecked>
}

interface AgentSearch {
  readonly file: Option.Option<FileChecked>
  readonly note: string
}

const findArcAgent = (
  fs: FileSystem.FileSystem,
  platform: string
): Effect.Effect<AgentSearch, ConfigError.ConfigError> => {
  const check = (path: string) =>
    Effect.match(fs.exists(path), {
      onFailure: (error): AgentSearch => ({
        file: Option.some({ path, exists: false }),
        note: `${path} could not be checked (${error.message})`
      }),
      onSuccess: (exists): AgentSearch => ({
        file: Option.some({ path, exists }),
        note: `${path} ${exists ? "exists" : "does not exist"}`
      })
    })
  if (platform === "linux") return check(linuxArcAgentPath)
  if (platform === "win32") {
    return Effect.flatMap(Environment.optional("ProgramFiles"), (programFiles) =>
      Option.match(programFiles, {
        onNone: () =>
          Effect.succeed<AgentSearch>({
            file: Option.none(),
            note: `ProgramFiles is not set, so the ${TokenSource.titles.AzureArc} agent was not looked for`
          }),
        onSome: (directory) => check(`${directory.replace(/[\\/]+$/, "")}\\AzureConnectedMachineAgent\\himds.exe`)
      }))
  }
  return Effect.succeed({
    file: Option.none(),
    note: `the ${TokenSource.titles.AzureArc} agent is only looked for on Linux and Windows, not on ${platform}`
  })
}

/**
 * Workload identity's rule: the reason it is detected (right), or the note saying what is missing when only some of
 * its inputs are there (left; none when neither the token file nor the tenant is set).
 */
const workloadIdentity = (
  seen: (...names: ReadonlyArray<typeof variables[number]>) => boolean,
  clientIdConfigured: boolean
): Either.Either<string, Option.Option<string>> => {
  const file = seen("AZURE_FEDERATED_TOKEN_FILE")
  const tenant = seen("AZURE_TENANT_ID")
  const clientId = clientIdConfigured
    ? Option.some("the configured ClientId identity")
    : seen("AZURE_CLIENT_ID")
    ? Option.some("AZURE_CLIENT_ID")
    : Option.none()
  if (file && tenant && Option.isSome(clientId)) {
    return Either.right(`AZURE_FEDERATED_TOKEN_FILE and AZURE_TENANT_ID are set, the client id is ${clientId.value}`)
  }
  if (!file && !tenant) return Either.left(Option.none())
  const missing = [
    ...(file ? [] : ["AZURE_FEDERATED_TOKEN_FILE"]),
    ...(tenant ? [] : ["AZURE_TENANT_ID"]),
    ...(Option.isSome(clientId) ? [] : ["a client id (a ClientId identity or AZURE_CLIENT_ID)"])
  ]
  return Either.left(
    Option.some(`${TokenSource.titles.WorkloadIdentity} skipped: ${missing.join(" and ")} missing`)
  )
}

/**
 * Detects the source from the environment (through `Config`) and, when no variable decides, the Azure Arc agent
 * binary (through `FileSystem`). A `ManagedIdentity` in context, if any, counts as workload identity's client id when
 * it is a `ClientId`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const detect: Effect.Effect<Detection, ConfigError.ConfigError, FileSystem.FileSystem | HostPlatform> = Effect
  .gen(function*() {
    const values = yield* Effect.all(variables.map((name) => Environment.optional(name)))
    const variablesSeen = variables.filter((_, index) => Option.isSome(values[index]))
    const seen = (...names: ReadonlyArray<typeof variables[number]>) =>
      names.every((name) => variablesSeen.includes(name))
    const seenText = variablesSeen.length === 0
      ? "no managed identity variable is set"
      : `variables seen: ${variablesSeen.join(", ")}`
    const configured = yield* Effect.serviceOption(ManagedIdentity.ManagedIdentity)
    const workload = workloadIdentity(
      seen,
      Option.exists(configured, (identity) => identity._tag === "ClientId")
    )
    const detected = (
      kind: TokenSource.SourceKind,
      reason: string,
      search?: AgentSearch
    ): Detection => ({
      kind,
      reasons: [
        `${TokenSource.titles[kind]}: ${reason}`,
        seenText,
        ...Either.match(workload, { onLeft: Option.toArray, onRight: () => [] }),
        ...(search === undefined ? [] : [search.note])
      ],
      variablesSeen,
      filesChecked: search === undefined ? [] : Option.toArray(search.file)
    })
    if (Either.isRight(workload)) {
      return detected("WorkloadIdentity", workload.right)
    }
    if (seen("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT")) {
      return detected("ServiceFabric", "IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT are set")
    }
    if (seen("IDENTITY_ENDPOINT", "IDENTITY_HEADER")) {
      return detected("AppService", "IDENTITY_ENDPOINT and IDENTITY_HEADER are set")
    }
    if (seen("MSI_ENDPOINT", "MSI_SECRET")) {
      return detected("MachineLearning", "MSI_ENDPOINT and MSI_SECRET are set")
    }
    if (seen("MSI_ENDPOINT")) {
      return detected("CloudShell", "MSI_ENDPOINT is set without MSI_SECRET")
    }
    if (seen("IDENTITY_ENDPOINT", "IMDS_ENDPOINT")) {
      return detected("AzureArc", "IDENTITY_ENDPOINT and IMDS_ENDPOINT are set")
    }
    const search = yield* findArcAgent(yield* FileSystem.FileSystem, yield* HostPlatform)
    if (Option.isSome(search.file) && search.file.value.exists) {
      return detected("AzureArc", `the agent ${search.file.value.path} is installed`, search)
    }
    return detected("Imds", "no variable or file selects another source", search)
  })

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenSource.TimingOptions {
  /** Where Azure Arc key files are, when Azure Arc is detected (default: the agent's directory for the platform). */
  readonly azureArcKeyDirectory?: string | undefined
  /**
   * When workload identity is detected, use identity bindings: send the exchange to `AZURE_KUBERNETES_TOKEN_PROXY`
   * (default `false`, as in the Azure SDKs, whose "Azure proxy" option it mirrors).
   */
  readonly identityBindings?: boolean | undefined
  /** When IMDS is the fallback, how long its probe waits for a first answer (default 1 s). */
  readonly probeTimeout?: Duration.DurationInput | undefined
}

/**
 * Everything the detected source may need.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements =
  | HttpClient.HttpClient
  | ManagedIdentity.ManagedIdentity
  | FileSystem.FileSystem
  | ServiceFabricTokenSource.PinnedHttpClient
  | WorkloadIdentityTokenSource.TokenProxyHttpClient
  | HostPlatform

const sourceLayer = (
  kind: TokenSource.SourceKind,
  options: Options,
  platform: string
): Layer.Layer<TokenSource.TokenSource, ConfigError.ConfigError, Requirements> => {
  const { azureArcKeyDirectory, identityBindings, probeTimeout, ...timing } = options
  switch (kind) {
    case "WorkloadIdentity":
      return WorkloadIdentityTokenSource.layerConfig({ ...timing, identityBindings })
    case "ServiceFabric":
      return ServiceFabricTokenSource.layerConfig(timing)
    case "AppService":
      return AppServiceTokenSource.layerConfig(timing)
    case "MachineLearning":
      return MachineLearningTokenSource.layerConfig(timing)
    case "CloudShell":
      return CloudShellTokenSource.layerConfig(timing)
    case "AzureArc":
      return AzureArcTokenSource.layerConfig({ ...timing, platform, keyDirectory: azureArcKeyDirectory })
    case "Imds":
      return ImdsTokenSource.layerConfig({ ...timing, probe: true, probeTimeout })
  }
}

/**
 * Detects the source and provides it, built from the same variables by the source module's `layerConfig`, with
 * the given timing; a detected IMDS probes its first contact. The detection is logged at debug level.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithOptions = (
  options: Options
): Layer.Layer<TokenSource.TokenSource, ConfigError.ConfigError, Requirements> =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const detection = yield* detect
      yield* Effect.logDebug("managed identity source detected").pipe(
        Effect.annotateLogs({ source: detection.kind, reasons: detection.reasons.join("; ") })
      )
      return sourceLayer(detection.kind, options, yield* HostPlatform)
    })
  )

/**
 * Detects the source and provides it with each source's default timing.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<TokenSource.TokenSource, ConfigError.ConfigError, Requirements> = layerWithOptions({})

/**
 * The report of {@link diagnose}, a schema so that it encodes to JSON (`Schema.encodeSync(Diagnosis)(report)`):
 *
 * - `resource`, and `identity`: the requested identity
 * - `detection`: the detected source and why, as {@link detect} says
 * - `sources`: the detected source's variables and those of every other source whose variables are all set, each
 *   with what it points at (a URL's scheme, host, port and path; a secret only as set)
 * - `reachability`: the timed request to the detected source (endpoint, whether it was IMDS's probe, budget,
 *   milliseconds, a token or the error tag, status and message); `null` when the source could not be built
 * - `token`: where the token came from (`identity_provider` or `cache`), its type, resource, expiry and claims
 *   (`oid`, `appid`, `azp`, `tid`, `xms_mirid`, `aud`, `iat`, `exp`; `null` when the token is not a JWT), never the
 *   token itself; `null` when there is none
 * - `identityCheck`: the verdict (`match`, `mismatch`, `unconfirmed`, `unchecked`), both identities in words and the
 *   known cause of a mismatch
 * - `clock`: the token's `iat` against the local clock
 * - `cache`: the configured cache's description and, for a file cache, its permissions
 * - `findings`: `{ level: "ok" | "warning" | "error", code, message }` with a stable code ({@link FindingCode}) and
 *   a one-line message that names no secret
 * - `elapsedMillis`: how long the diagnosis took
 *
 * @since 0.1.0
 * @category schemas
 */
export const Diagnosis: typeof Model.Diagnosis = Model.Diagnosis

/**
 * @since 0.1.0
 * @category models
 */
export type Diagnosis = Model.Diagnosis

/**
 * The codes of findings, stable so that a tool can act on them:
 *
 * | code | level | meaning |
 * | --- | --- | --- |
 * | `source.detected` | ok | the detected source and the rule that chose it |
 * | `source.reachable` | ok | the source answered the timed request with a token |
 * | `source.unavailable` | error | no answer within the budget, or nothing listening: most likely not that host |
 * | `source.failed` | error | the source answered, but with an error or something that is not a token |
 * | `source.misconfigured` | error | the configuration was refused before anything was sent |
 * | `token.received` | ok | where the token came from and when it expires |
 * | `token.not-jwt` | warning | the token is not JWT-shaped: identity and issue time cannot be read |
 * | `identity.match` | ok | the token names the requested identity |
 * | `identity.mismatch` | error | the token names another identity (both named, and the known cause) |
 * | `identity.unconfirmed` | warning | the token lacks the claim that would confirm the identity |
 * | `identity.default` | warning | Azure ML answered a system-assigned request with its default identity |
 * | `clock.ok` | ok | the token's `iat` is within 5 minutes of the local clock |
 * | `clock.skew` | warning | the token's `iat` is more than 5 minutes off the local clock |
 * | `cache.memory` | ok | an in-memory cache |
 * | `cache.key-value-store` | ok | a persistent cache through a `KeyValueStore` |
 * | `cache.directory` | ok | a file cache whose directory and files only this user can access |
 * | `cache.permissions` | error | a file cache whose directory or files group or others can access |
 * | `cache.unchecked` | warning | a file cache whose permissions could not be read |
 * | `cache.custom` | ok | a cache that does not describe itself |
 *
 * @since 0.1.0
 * @category schemas
 */
export const FindingCode: typeof Model.FindingCode = Model.FindingCode

/**
 * @since 0.1.0
 * @category models
 */
export type FindingCode = Model.FindingCode

/**
 * The resource {@link diagnose} asks a token for unless told otherwise.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultDiagnoseResource = "https://management.azure.com/"

/**
 * How long {@link diagnose}'s request to the source may take unless told otherwise.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultDiagnoseBudget: Duration.Duration = Duration.seconds(2)

/**
 * @since 0.1.0
 * @category models
 */
export interface DiagnoseOptions {
  /** The resource to get a token for (default `https://management.azure.com/`). */
  readonly resource?: string | undefined
  /** How long the one request to the source may take (default 2 s). */
  readonly budget?: Duration.DurationInput | undefined
  /** Where Azure Arc key files are, when Azure Arc is detected (default: the agent's directory for the platform). */
  readonly azureArcKeyDirectory?: string | undefined
  /** When workload identity is detected, send the exchange to the identity-binding token proxy (default `false`). */
  readonly identityBindings?: boolean | undefined
}

/**
 * What {@link diagnose} needs: what the detected source needs, and the cache to diagnose.
 *
 * @since 0.1.0
 * @category models
 */
export type DiagnoseRequirements = Requirements | TokenCache.TokenCache

/** The URL the detected source sends to, as messages show it. */
const endpointOf = (
  kind: TokenSource.SourceKind,
  value: (name: string) => Option.Option<string>,
  identityBindings: boolean
): string => {
  const url = (() => {
    switch (kind) {
      case "WorkloadIdentity": {
        const proxy = identityBindings ? value("AZURE_KUBERNETES_TOKEN_PROXY") : Option.none()
        if (Option.isSome(proxy)) return proxy
        return Option.flatMap(value("AZURE_TENANT_ID"), (tenant) =>
          Either.getRight(
            WorkloadIdentityTokenSource.tokenUrl(
              Option.getOrElse(value("AZURE_AUTHORITY_HOST"), () => WorkloadIdentityTokenSource.defaultAuthorityHost),
              tenant
            )
          )).pipe(Option.map(String))
      }
      case "Imds":
        return Option.some(
          ImdsTokenSource.tokenUrl(
            Option.getOrElse(value("AZURE_POD_IDENTITY_AUTHORITY_HOST"), () => ImdsTokenSource.defaultAuthorityHost)
          )
        )
      case "AppService":
      case "ServiceFabric":
        return value("IDENTITY_ENDPOINT")
      case "AzureArc":
        return Option.orElse(value("IDENTITY_ENDPOINT"), () => Option.some(AzureArcTokenSource.defaultEndpoint))
      case "CloudShell":
      case "MachineLearning":
        return value("MSI_ENDPOINT")
    }
  })()
  return Option.match(url, { onNone: () => "(not set, or not valid)", onSome: Transport.displayUrl })
}

/** One timed request: how long it took, and its token or error. */
interface Attempt {
  readonly millis: number
  readonly result: Either.Either<TokenSource.IssuedToken, ManagedIdentityError>
}

const formatMillis = (millis: number): string => millis < 1000 ? `${millis} ms` : `${(millis / 1000).toFixed(1)} s`

/** The reachability finding of a request, and for an `IdentityNotConfirmed`, the identity check it amounts to. */
const reachabilityFinding = (
  kind: TokenSource.SourceKind,
  endpoint: string,
  budget: Duration.Duration,
  attempt: Attempt,
  identity: ManagedIdentity.Identity
): { readonly finding: Model.Finding; readonly identityCheck: Option.Option<Model.IdentityCheck> } => {
  const title = TokenSource.titles[kind]
  const plain = (level: Model.Finding["level"], code: Model.FindingCode, message: string) => ({
    finding: Model.finding(level, code, message),
    identityCheck: Option.none()
  })
  if (Either.isRight(attempt.result)) {
    return plain("ok", "source.reachable", `${title} answered with a token in ${formatMillis(attempt.millis)}`)
  }
  const error = attempt.result.left
  switch (error._tag) {
    case "Timeout":
      return plain(
        "error",
        "source.unavailable",
        `${title} did not answer within ${Duration.format(budget)} at ${endpoint}`
      )
    case "SourceUnavailable":
      return plain("error", "source.unavailable", `${title} is not reachable at ${error.endpoint}: ${error.reason}`)
    case "InvalidIdentity":
      return plain("error", "source.misconfigured", error.message)
    case "IdentityNotConfirmed": {
      const requested = ManagedIdentity.describe(identity)
      const received = error.received ?? null
      const cause = "Azure Arc ignores an identity selector it does not know and answers for the machine's " +
        "identity; check that the identity is assigned to this machine"
      return {
        finding: Model.finding(
          "error",
          "identity.mismatch",
          `asked for ${requested} (${error.expected}), ${title} answered for ${
            received ?? "an identity it did not name"
          }: ${cause}`
        ),
        identityCheck: Option.some({ verdict: "mismatch", requested, received, cause })
      }
    }
    default:
      return plain(
        "error",
        "source.failed",
        `${title} gave no token (${formatMillis(attempt.millis)}): ${error._tag}: ${error.message}`
      )
  }
}

const outcomeOf = (attempt: Attempt): Model.Outcome =>
  Either.match(attempt.result, {
    onRight: (): Model.Outcome => ({ _tag: "Token" }),
    onLeft: (error): Model.Outcome => ({
      _tag: "Error",
      error: error._tag,
      status: "status" in error ? error.status : null,
      message: error.message
    })
  })

/** What the token the client returned says: its report, identity check, clock check, and their findings. */
const examineToken = (
  kind: TokenSource.SourceKind,
  identity: ManagedIdentity.Identity,
  accessToken: AccessToken,
  host: Model.HostIdentity,
  now: number
) => {
  const claims = Model.readClaims(Redacted.value(accessToken.token))
  const identityChecked = Model.checkIdentity(kind, identity, claims, host)
  const clockChecked = Model.checkClock(claims, accessToken.source, now)
  const received = Model.finding(
    "ok",
    "token.received",
    `a ${accessToken.tokenType} token for ${accessToken.resource} from ${
      accessToken.source === "cache" ? "the cache" : "the identity provider"
    }, expiring ${DateTime.formatIso(accessToken.expiresOn)}`
  )
  const notJwt = Option.isSome(claims) ? [] : [
    Model.finding(
      "warning",
      "token.not-jwt",
      "the token is not JWT-shaped, so the identity and issue time it names cannot be read (it may still work)"
    )
  ]
  return {
    token: {
      origin: accessToken.source,
      tokenType: accessToken.tokenType,
      resource: accessToken.resource,
      expiresOn: accessToken.expiresOn,
      claims: Option.getOrNull(claims)
    } satisfies Model.TokenReport,
    identityCheck: identityChecked.check,
    clock: Option.getOrNull(clockChecked.check),
    findings: [received, ...notJwt, ...Option.toArray(identityChecked.finding), ...Option.toArray(clockChecked.finding)]
  }
}

/**
 * The token for `resource` from a client over `source` and `cache`, and one timed request to `source`: the client's
 * own when it made one, else (a cached token) one more.
 */
const requestToken = (
  source: TokenSource.TokenSource.Service,
  cache: TokenCache.TokenCache.Service,
  resource: string
): Effect.Effect<
  { readonly attempt: Attempt; readonly received: Either.Either<AccessToken, ManagedIdentityError> },
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const last = yield* Ref.make(Option.none<Attempt>())
    const timed = TokenSource.make({
      ...source,
      getToken: (request) =>
        Effect.timed(Effect.either(source.getToken(request))).pipe(
          Effect.tap(([duration, result]) =>
            Ref.set(last, Option.some({ millis: Math.round(Duration.toMillis(duration)), result }))
          ),
          Effect.flatMap(([, result]) => result)
        )
    })
    const client = yield* ManagedIdentityClient.make().pipe(
      Effect.provideService(TokenSource.TokenSource, timed),
      Effect.provideService(TokenCache.TokenCache, cache)
    )
    const received = yield* Effect.either(client.getToken(resource))
    if (Option.isNone(yield* Ref.get(last))) yield* Effect.either(timed.getToken({ resource }))
    const attempt = Option.getOrElse(yield* Ref.get(last), (): Attempt => ({ millis: 0, result: received }))
    return { attempt, received }
  })

/**
 * Explains this host: which source is detected and why, what every present source's variables point at (never a
 * secret), one request to the detected source timed within a budget, the token for a resource (where it came from,
 * its expiry, the identity and issue time its claims name, read without verifying it), whether that identity is the
 * requested one (with the known cause when it is not), whether its `iat` agrees with the local clock, and which cache
 * is configured (for a file cache, whether its directory and files are private). Every part ends in findings with
 * stable codes ({@link FindingCode}). The report never holds a token or a secret.
 *
 * The request goes through a client built like the app's, over the `TokenCache` in context and the detected source
 * with one attempt and no retries, bounded by the budget (default 2 s); for IMDS that attempt is its probe, whose
 * timeout is the budget. A cached token is served from the cache, and then the source gets one request of its own so
 * that reachability is still measured. Nothing here fails: a source that cannot be reached, an error answer, a token
 * that is not a JWT are findings. The identity is the `ManagedIdentity` in context (on workload identity a
 * system-assigned identity is checked as `AZURE_CLIENT_ID`'s client id); the cache describes itself
 * (`TokenCache.Service.description`).
 *
 * @example
 * ```ts
 * import { ManagedIdentity, ManagedIdentitySource, TokenCache } from "@managed-identity/core"
 * import { Effect, Schema } from "effect"
 *
 * // the report as JSON; the platform's services (`NodeManagedIdentity.layerPlatform` on Node) are still to provide
 * const report = ManagedIdentitySource.diagnose({ resource: "https://vault.azure.net" }).pipe(
 *   Effect.map(Schema.encodeSync(ManagedIdentitySource.Diagnosis)),
 *   Effect.provide(TokenCache.layerMemory),
 *   Effect.provide(ManagedIdentity.layerSystemAssigned)
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const diagnose = (
  options: DiagnoseOptions = {}
): Effect.Effect<Diagnosis, ConfigError.ConfigError, DiagnoseRequirements> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const resource = options.resource ?? defaultDiagnoseResource
    const budget = Duration.decode(options.budget ?? defaultDiagnoseBudget)
    const identity = yield* ManagedIdentity.ManagedIdentity
    const platform = yield* HostPlatform
    const cache = yield* TokenCache.TokenCache
    const detection = yield* detect
    const values = new Map(
      yield* Effect.forEach(
        Model.variableNames,
        (name) => Effect.map(Environment.optional(name), (found) => [name, found] as const)
      )
    )
    const value = (name: string) => values.get(name) ?? Option.none()
    const endpoint = endpointOf(detection.kind, value, options.identityBindings === true)
    const unchecked: Model.IdentityCheck = {
      verdict: "unchecked",
      requested: ManagedIdentity.describe(identity),
      received: null,
      cause: null
    }

    // One attempt within the budget; for IMDS the budget is its probe's, which bounds the whole first exchange (the
    // attempt's own bounds are kept out of its way).
    const bound = detection.kind === "Imds" ? Duration.times(budget, 2) : budget
    const built = yield* Layer.build(
      sourceLayer(detection.kind, {
        retrySchedule: RetryPolicy.none,
        attemptTimeout: bound,
        deadline: bound,
        probeTimeout: budget,
        azureArcKeyDirectory: options.azureArcKeyDirectory,
        identityBindings: options.identityBindings
      }, platform)
    ).pipe(Effect.map(Context.get(TokenSource.TokenSource)), Effect.either)
    const examined = yield* Either.match(built, {
      onLeft: (error) =>
        Effect.succeed({
          reachability: null,
          token: null,
          identityCheck: unchecked,
          clock: null,
          findings: [
            Model.finding("error", "source.misconfigured", `${TokenSource.titles[detection.kind]}: ${error}`)
          ]
        }),
      onRight: (source) =>
        Effect.gen(function*() {
          const { attempt, received } = yield* requestToken(source, cache, resource)
          const reached = reachabilityFinding(detection.kind, endpoint, budget, attempt, identity)
          const reachability: Model.Reachability = {
            source: detection.kind,
            endpoint,
            probe: detection.kind === "Imds",
            budgetMillis: Duration.toMillis(budget),
            millis: attempt.millis,
            outcome: outcomeOf(attempt)
          }
          if (Either.isLeft(received)) {
            return {
              reachability,
              token: null,
              identityCheck: Option.getOrElse(reached.identityCheck, () => unchecked),
              clock: null,
              findings: [reached.finding]
            }
          }
          const now = yield* Clock.currentTimeMillis
          const token = examineToken(detection.kind, identity, received.right, {
            defaultClientId: value("DEFAULT_IDENTITY_CLIENT_ID"),
            workloadClientId: value("AZURE_CLIENT_ID")
          }, now)
          return { ...token, reachability, findings: [reached.finding, ...token.findings] }
        })
    })
    const cacheChecked = yield* Model.checkCache(Option.fromNullable(cache.description), platform)

    return {
      resource,
      identity,
      detection,
      sources: Model.sourcesOf(detection.kind, values),
      reachability: examined.reachability,
      token: examined.token,
      identityCheck: examined.identityCheck,
      clock: examined.clock,
      cache: cacheChecked.check,
      findings: [
        Model.finding("ok", "source.detected", detection.reasons[0]),
        ...examined.findings,
        cacheChecked.finding
      ],
      elapsedMillis: (yield* Clock.currentTimeMillis) - started
    }
  }).pipe(Effect.scoped)
