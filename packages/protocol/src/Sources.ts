/**
 * The one list of sources, in detection order (PROTOCOL.md's table: first match wins), and each source's facts by
 * kind. Adding a source adds its module under `sources/`, its title (`SourceKind.titles`) and its place here.
 *
 * @since 0.1.0
 */
import type * as Source from "./Source.js"
import type { DetectedKind, SourceKind } from "./SourceKind.js"
import * as AppService from "./sources/AppService.js"
import * as AzureArc from "./sources/AzureArc.js"
import * as CloudShell from "./sources/CloudShell.js"
import * as FederatedCredential from "./sources/FederatedCredential.js"
import * as Imds from "./sources/Imds.js"
import * as MachineLearning from "./sources/MachineLearning.js"
import * as ServiceFabric from "./sources/ServiceFabric.js"
import * as WorkloadIdentity from "./sources/WorkloadIdentity.js"

/**
 * Every source, in the order detection asks them.
 *
 * @since 0.1.0
 * @category models
 */
export const detectionOrder: ReadonlyArray<Source.Facts<DetectedKind>> = [
  WorkloadIdentity.facts,
  ServiceFabric.facts,
  AppService.facts,
  MachineLearning.facts,
  CloudShell.facts,
  AzureArc.facts,
  Imds.facts
]

/**
 * Each source's facts, by kind: the detected ones, and those a program asks for by name (a managed identity as a
 * federated credential).
 *
 * @since 0.1.0
 * @category models
 */
export const byKind = Object.fromEntries(
  [...detectionOrder, FederatedCredential.facts].map((facts) => [facts.kind, facts])
) as {
  readonly [K in SourceKind]: Source.Facts
}
