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
 * Diagnosis is its own module, `ManagedIdentityDiagnosis`; {@link diagnose}, {@link Diagnosis} and {@link FindingCode}
 * here are aliases of its names.
 *
 * @since 0.1.0
 */
import * as Detections from "@managed-identity/protocol/Detection"
import type * as Source from "@managed-identity/protocol/Source"
import type * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Detect from "./internal/detection/detect.js"
import * as Layers from "./internal/source/layers.js"
import * as ManagedIdentityDiagnosis from "./ManagedIdentityDiagnosis.js"
import { printable } from "./ManagedIdentityError.js"
import type * as TokenSource from "./TokenSource.js"

/**
 * The operating system, as Node's `process.platform` names it (`"linux"`, `"win32"`, `"darwin"`, …). Core has no
 * way to know it, so a platform package provides it; tests provide any value.
 *
 * @since 0.1.0
 * @category tags
 */
export const HostPlatform: typeof Detect.HostPlatform = Detect.HostPlatform

/**
 * @since 0.1.0
 * @category tags
 */
export type HostPlatform = Detect.HostPlatform

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
export const variables: ReadonlyArray<string> = Detections.variables

/**
 * A file detection looked for: its path, and whether it exists.
 *
 * @since 0.1.0
 * @category models
 */
export type FileChecked = Source.FileChecked

/**
 * The detected source and why. `variablesSeen` holds names only, never values; `reasons` starts with the deciding
 * rule, then lists the variables seen and each file checked.
 *
 * @since 0.1.0
 * @category models
 */
export type Detection = Detections.Detection

/**
 * Detects the source from the environment (through `Config`) and, when no variable decides, the Azure Arc agent
 * binary (through `FileSystem`). A `ManagedIdentity` in context, if any, counts as workload identity's client id when
 * it is a `ClientId`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const detect: Effect.Effect<Detection, Config.ConfigError, FileSystem.FileSystem | HostPlatform> = Effect
  .flatMap(HostPlatform, Detect.detect)

/**
 * The layer's options: each source's timing, Azure Arc's key directory, identity bindings for workload identity
 * (`identityBindings`, default `false`), and IMDS's probe timeout (`probeTimeout`, default 1 s).
 *
 * @since 0.1.0
 * @category models
 */
export type Options = Layers.Options

/**
 * Everything the detected source may need.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements = Layers.Requirements | HostPlatform

/**
 * Detects the source and provides it, built from the same variables by the source module's `layerConfig`, with
 * the given timing; a detected IMDS probes its first contact. The detection is logged at debug level.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithOptions = (
  options: Options
): Layer.Layer<TokenSource.TokenSource, Config.ConfigError, Requirements> =>
  Layer.unwrap(
    Effect.gen(function*() {
      const detection = yield* detect
      yield* Effect.logDebug("managed identity source detected").pipe(
        Effect.annotateLogs({ source: detection.kind, reasons: printable(detection.reasons.join("; ")) })
      )
      return Layers.layerOf(detection.kind, options, yield* HostPlatform)
    })
  )

/**
 * Detects the source and provides it with each source's default timing.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<TokenSource.TokenSource, Config.ConfigError, Requirements> = layerWithOptions({})

/**
 * The report of {@link diagnose}: an alias of `ManagedIdentityDiagnosis.Diagnosis`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Diagnosis: typeof ManagedIdentityDiagnosis.Diagnosis = ManagedIdentityDiagnosis.Diagnosis

/**
 * @since 0.1.0
 * @category models
 */
export type Diagnosis = ManagedIdentityDiagnosis.Diagnosis

/**
 * The stable codes of findings: an alias of `ManagedIdentityDiagnosis.FindingCode`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FindingCode: typeof ManagedIdentityDiagnosis.FindingCode = ManagedIdentityDiagnosis.FindingCode

/**
 * @since 0.1.0
 * @category models
 */
export type FindingCode = ManagedIdentityDiagnosis.FindingCode

/**
 * Explains this host, as a report of findings: an alias of `ManagedIdentityDiagnosis.diagnose`, where it is
 * documented.
 *
 * @since 0.1.0
 * @category constructors
 */
export const diagnose: typeof ManagedIdentityDiagnosis.diagnose = ManagedIdentityDiagnosis.diagnose
