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
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as AppServiceTokenSource from "./AppServiceTokenSource.js"
import * as AzureArcTokenSource from "./AzureArcTokenSource.js"
import * as CloudShellTokenSource from "./CloudShellTokenSource.js"
import * as ImdsTokenSource from "./ImdsTokenSource.js"
import * as Environment from "./internal/environment.js"
import * as MachineLearningTokenSource from "./MachineLearningTokenSource.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import * as ServiceFabricTokenSource from "./ServiceFabricTokenSource.js"
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
