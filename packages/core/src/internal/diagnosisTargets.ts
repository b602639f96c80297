/**
 * What the variables of every source point at, for `ManagedIdentitySource.diagnose`: each source's variables with
 * their role, and a URL's or a file's target (never a secret).
 */
import * as Option from "effect/Option"
import type { SourceVariables, Target } from "./diagnosisModel.js"
import { SourceKind } from "./sourceKind.js"

type Role = "url" | "path" | "secret" | "value"

/** Each source's variables with their role, and which of them make the source detected. */
const sourceVariables: {
  readonly [K in SourceKind]: {
    readonly variables: ReadonlyArray<readonly [name: string, role: Role]>
    readonly required: ReadonlyArray<string>
  }
} = {
  Imds: { variables: [["AZURE_POD_IDENTITY_AUTHORITY_HOST", "url"]], required: ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] },
  AppService: {
    variables: [["IDENTITY_ENDPOINT", "url"], ["IDENTITY_HEADER", "secret"]],
    required: ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"]
  },
  ServiceFabric: {
    variables: [["IDENTITY_ENDPOINT", "url"], ["IDENTITY_HEADER", "secret"], ["IDENTITY_SERVER_THUMBPRINT", "value"]],
    required: ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT"]
  },
  AzureArc: {
    variables: [["IDENTITY_ENDPOINT", "url"], ["IMDS_ENDPOINT", "url"]],
    required: ["IDENTITY_ENDPOINT", "IMDS_ENDPOINT"]
  },
  CloudShell: { variables: [["MSI_ENDPOINT", "url"]], required: ["MSI_ENDPOINT"] },
  MachineLearning: {
    variables: [["MSI_ENDPOINT", "url"], ["MSI_SECRET", "secret"], ["DEFAULT_IDENTITY_CLIENT_ID", "value"]],
    required: ["MSI_ENDPOINT", "MSI_SECRET"]
  },
  WorkloadIdentity: {
    variables: [
      ["AZURE_FEDERATED_TOKEN_FILE", "path"],
      ["AZURE_TENANT_ID", "value"],
      ["AZURE_CLIENT_ID", "value"],
      ["AZURE_AUTHORITY_HOST", "url"],
      ["AZURE_KUBERNETES_TOKEN_PROXY", "url"],
      ["AZURE_KUBERNETES_SNI_NAME", "value"],
      ["AZURE_KUBERNETES_CA_FILE", "path"],
      ["AZURE_KUBERNETES_CA_DATA", "value"]
    ],
    required: ["AZURE_FEDERATED_TOKEN_FILE", "AZURE_TENANT_ID"]
  }
}

/** Every variable some source reads, once. */
export const variableNames: ReadonlyArray<string> = Array.from(
  new Set(Object.values(sourceVariables).flatMap(({ variables }) => variables.map(([name]) => name)))
)

const defaultPorts: Readonly<Record<string, number>> = { "http:": 80, "https:": 443 }

/** A URL's scheme, host, port and path, never its user name, password, query or fragment. */
export const urlTarget = (value: string): Target => {
  try {
    const url = new URL(value)
    return {
      _tag: "Url",
      scheme: url.protocol.replace(/:$/, ""),
      host: url.hostname,
      port: url.port === "" ? defaultPorts[url.protocol] ?? 0 : Number(url.port),
      path: url.pathname
    }
  } catch {
    return { _tag: "NotUrl" }
  }
}

const targetOf = (role: Role, value: Option.Option<string>): Target =>
  Option.match(value, {
    onNone: (): Target => ({ _tag: "NotSet" }),
    onSome: (text): Target =>
      role === "url"
        ? urlTarget(text)
        : role === "path"
        ? { _tag: "File", path: text }
        : { _tag: role === "secret" ? "Secret" : "Set" }
  })

/**
 * The detected source's variables, and those of every other source whose variables are all set (detection's order
 * passed it over), each with what it points at. Secrets are only said to be set.
 */
export const sourcesOf = (
  detected: SourceKind,
  values: ReadonlyMap<string, Option.Option<string>>
): ReadonlyArray<SourceVariables> =>
  SourceKind.literals.flatMap((kind) => {
    const { required, variables } = sourceVariables[kind]
    const value = (name: string) => values.get(name) ?? Option.none()
    if (kind !== detected && !required.every((name) => Option.isSome(value(name)))) return []
    return [{
      source: kind,
      detected: kind === detected,
      variables: variables.map(([name, role]) => ({ name, target: targetOf(role, value(name)) }))
    }]
  })
