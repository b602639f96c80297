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
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as DetectionRules from "./internal/detection.js"
import * as Diagnose from "./internal/diagnose.js"
import * as Model from "./internal/diagnosisModel.js"
import * as SourceLayer from "./internal/sourceLayer.js"
import { printable } from "./ManagedIdentityError.js"
import type * as TokenCache from "./TokenCache.js"
import type * as TokenSource from "./TokenSource.js"

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
export const variables: typeof DetectionRules.variables = DetectionRules.variables

/**
 * The Azure Arc agent binary on Linux.
 *
 * @since 0.1.0
 * @category constants
 */
export const linuxArcAgentPath: typeof DetectionRules.linuxArcAgentPath = DetectionRules.linuxArcAgentPath

/**
 * A file detection looked for: its path, and whether it exists.
 *
 * @since 0.1.0
 * @category models
 */
export type FileChecked = DetectionRules.FileChecked

/**
 * The detected source and why. `variablesSeen` holds names only, never values; `reasons` starts with the deciding
 * rule, then lists the variables seen and each file checked.
 *
 * @since 0.1.0
 * @category models
 */
export type Detection = DetectionRules.Detection

/**
 * Detects the source from the environment (through `Config`) and, when no variable decides, the Azure Arc agent
 * binary (through `FileSystem`). A `ManagedIdentity` in context, if any, counts as workload identity's client id when
 * it is a `ClientId`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const detect: Effect.Effect<Detection, ConfigError.ConfigError, FileSystem.FileSystem | HostPlatform> = Effect
  .flatMap(HostPlatform, DetectionRules.detect)

/**
 * The layer's options: each source's timing, Azure Arc's key directory, identity bindings for workload identity
 * (`identityBindings`, default `false`), and IMDS's probe timeout (`probeTimeout`, default 1 s).
 *
 * @since 0.1.0
 * @category models
 */
export type Options = SourceLayer.Options

/**
 * Everything the detected source may need.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements = SourceLayer.Requirements | HostPlatform

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
        Effect.annotateLogs({ source: detection.kind, reasons: printable(detection.reasons.join("; ")) })
      )
      return SourceLayer.sourceLayer(detection.kind, options, yield* HostPlatform)
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
  Effect.flatMap(HostPlatform, (platform) =>
    Diagnose.diagnose({
      ...options,
      resource: options.resource ?? defaultDiagnoseResource,
      budget: options.budget ?? defaultDiagnoseBudget
    }, platform))
