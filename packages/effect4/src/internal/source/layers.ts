/**
 * The one list of source layers by kind (`ManagedIdentitySource.layerWithOptions` and diagnosis build the detected
 * source from it): each source built from its variables by its module's `layerConfig`.
 */
import type { DetectedKind } from "@managed-identity/protocol/SourceKind"
import type * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import type * as FileSystem from "effect/FileSystem"
import type * as HttpClient from "effect/http/HttpClient"
import type * as Layer from "effect/Layer"
import * as AppServiceTokenSource from "../../AppServiceTokenSource.js"
import * as AzureArcTokenSource from "../../AzureArcTokenSource.js"
import * as CloudShellTokenSource from "../../CloudShellTokenSource.js"
import * as ImdsTokenSource from "../../ImdsTokenSource.js"
import * as MachineLearningTokenSource from "../../MachineLearningTokenSource.js"
import type * as ManagedIdentity from "../../ManagedIdentity.js"
import * as ServiceFabricTokenSource from "../../ServiceFabricTokenSource.js"
import type * as TokenSource from "../../TokenSource.js"
import * as WorkloadIdentityTokenSource from "../../WorkloadIdentityTokenSource.js"

/** The options of the detected source's layer (public as `ManagedIdentitySource.Options`). */
export interface Options extends TokenSource.TimingOptions {
  /** Where Azure Arc key files are, when Azure Arc is detected (default: the agent's directory for the platform). */
  readonly azureArcKeyDirectory?: string | undefined
  /**
   * When workload identity is detected, use identity bindings: send the exchange to `AZURE_KUBERNETES_TOKEN_PROXY`
   * (default `false`, as in the Azure SDKs, whose "Azure proxy" option it mirrors).
   */
  readonly identityBindings?: boolean | undefined
  /** When IMDS is the fallback, how long its probe waits for a first answer (default 1 s). */
  readonly probeTimeout?: Duration.Input | undefined
}

/** Everything a detected source may need, besides the host's platform, which is given. */
export type Requirements =
  | HttpClient.HttpClient
  | ManagedIdentity.ManagedIdentity
  | FileSystem.FileSystem
  | ServiceFabricTokenSource.PinnedHttpClient
  | WorkloadIdentityTokenSource.TokenProxyHttpClient

/** The layer of the source of `kind` on `platform`, built from its variables with `options`. */
export const layerOf = (
  kind: DetectedKind,
  options: Options,
  platform: string
): Layer.Layer<TokenSource.TokenSource, Config.ConfigError, Requirements> => {
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
