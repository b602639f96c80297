import * as Schema from "effect/Schema"

/** The hosts a token can come from (public as `TokenSource.SourceKind`). */
export const SourceKind = Schema.Literal(
  "Imds",
  "AppService",
  "ServiceFabric",
  "AzureArc",
  "CloudShell",
  "MachineLearning",
  "WorkloadIdentity"
)

/** A source's kind. */
export type SourceKind = typeof SourceKind.Type

/** Each source's name as people write it (public as `TokenSource.titles`). */
export const titles: { readonly [K in SourceKind]: string } = {
  Imds: "IMDS",
  AppService: "App Service",
  ServiceFabric: "Service Fabric",
  AzureArc: "Azure Arc",
  CloudShell: "Cloud Shell",
  MachineLearning: "Azure Machine Learning",
  WorkloadIdentity: "AKS workload identity"
}
