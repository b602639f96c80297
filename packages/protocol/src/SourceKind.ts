/**
 * The hosts a token can come from, and their names as people write them.
 *
 * @since 0.1.0
 */

/**
 * Each source's name as people write it, for messages, the CLI and the demo. Its keys are the source kinds, in the
 * order they are listed to people (IMDS first); detection has an order of its own (`Sources.detectionOrder`).
 *
 * @since 0.1.0
 * @category models
 */
export const titles = {
  Imds: "IMDS",
  AppService: "App Service",
  ServiceFabric: "Service Fabric",
  AzureArc: "Azure Arc",
  CloudShell: "Cloud Shell",
  MachineLearning: "Azure Machine Learning",
  WorkloadIdentity: "AKS workload identity",
  FederatedCredential: "federated credential"
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type SourceKind = keyof typeof titles

/**
 * The kinds detection can find: every kind but `FederatedCredential`, which a program asks for by name.
 *
 * @since 0.1.0
 * @category models
 */
export type DetectedKind = Exclude<SourceKind, "FederatedCredential">

/**
 * Every source kind, in the order of {@link titles}.
 *
 * @since 0.1.0
 * @category models
 */
export const kinds = Object.keys(titles) as ReadonlyArray<SourceKind> as readonly [SourceKind, ...Array<SourceKind>]

/**
 * Every kind detection can find, in the order of {@link titles}.
 *
 * @since 0.1.0
 * @category models
 */
export const detectedKinds = kinds.filter((kind): kind is DetectedKind =>
  kind !== "FederatedCredential"
) as ReadonlyArray<
  DetectedKind
> as readonly [DetectedKind, ...Array<DetectedKind>]

/**
 * Where a problem arose: a source, or host detection.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorSource = SourceKind | "Detection"
