/**
 * AKS identity bindings (the Azure SDKs' "Azure proxy" option): workload identity's exchange goes to the cluster's
 * token proxy instead of the authority, trusting only the CA the cluster names, under the TLS server name it names.
 *
 * @since 0.1.0
 */
import * as FileRead from "../FileRead.js"
import * as Problem from "../Problem.js"
import * as Result from "../Result.js"

/**
 * The variables of identity bindings, by setting.
 *
 * @since 0.1.0
 * @category constants
 */
export const variables = {
  url: "AZURE_KUBERNETES_TOKEN_PROXY",
  sniName: "AZURE_KUBERNETES_SNI_NAME",
  caFile: "AZURE_KUBERNETES_CA_FILE",
  caData: "AZURE_KUBERNETES_CA_DATA"
} as const

/**
 * The proxy the exchange goes to instead of the authority, and what is trusted there.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenProxy {
  /** `AZURE_KUBERNETES_TOKEN_PROXY`: an https URL without userinfo, query or fragment; the token path is appended. */
  readonly url?: string | undefined
  /** `AZURE_KUBERNETES_SNI_NAME`: the TLS server name to present and to check the certificate against. */
  readonly sniName?: string | undefined
  /** `AZURE_KUBERNETES_CA_FILE`: a PEM file read for every exchange (the cluster rotates it). */
  readonly caFile?: string | undefined
  /** `AZURE_KUBERNETES_CA_DATA`: PEM certificates. */
  readonly caData?: string | undefined
}

/**
 * Where the CA to trust comes from: the platform's default trust, PEM data, or a file read for every exchange.
 *
 * @since 0.1.0
 * @category models
 */
export type CaSource =
  | { readonly _tag: "Platform" }
  | { readonly _tag: "Data"; readonly pem: string }
  | { readonly _tag: "File"; readonly path: string }

/**
 * A proxy configuration that passed every check: the token URL at the proxy, the CA source, the server name.
 *
 * @since 0.1.0
 * @category models
 */
export interface Checked {
  readonly url: string
  readonly ca: CaSource
  readonly serverName: string | undefined
}

const invalid = (reason: string) => Problem.invalidIdentity("WorkloadIdentity", reason)

const given = (value: string | undefined): value is string => value !== undefined && value.trim() !== ""

/**
 * Checks a proxy configuration as the Azure SDKs do: a proxy setting without `AZURE_KUBERNETES_TOKEN_PROXY` is a
 * mistake, not a reason to fall back to the authority; the proxy is an https URL without userinfo, query or fragment;
 * `AZURE_KUBERNETES_CA_FILE` and `AZURE_KUBERNETES_CA_DATA` exclude each other. The token path (the authority's path,
 * `/{tenant}/oauth2/v2.0/token`) is appended to the proxy's path.
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (proxy: TokenProxy, tokenPath: string): Result.Result<Checked, Problem.InvalidIdentity> => {
  const { caData, caFile, sniName, url } = proxy
  if (!given(url)) {
    const set = (["sniName", "caFile", "caData"] as const).filter((key) => given(proxy[key])).map((key) =>
      variables[key]
    )
    return Result.err(invalid(`${variables.url} is not set but ${set.join(", ")} ${set.length > 1 ? "are" : "is"}`))
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Result.err(invalid(`${variables.url} is not a URL`))
  }
  if (parsed.protocol !== "https:") return Result.err(invalid(`${variables.url} must be an https URL`))
  if (parsed.username !== "" || parsed.password !== "") {
    return Result.err(invalid(`${variables.url} must not contain userinfo`))
  }
  if (parsed.search !== "" || url.includes("?")) return Result.err(invalid(`${variables.url} must not contain a query`))
  if (parsed.hash !== "" || url.includes("#")) {
    return Result.err(invalid(`${variables.url} must not contain a fragment`))
  }
  if (given(caFile) && given(caData)) {
    return Result.err(invalid(`${variables.caFile} and ${variables.caData} exclude each other: set only one`))
  }
  if (given(sniName) && !/^[A-Za-z0-9.-]+$/.test(sniName.trim())) {
    return Result.err(invalid(`${variables.sniName} must be a DNS name`))
  }
  return Result.ok({
    url: `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}${tokenPath}`,
    ca: given(caFile)
      ? { _tag: "File", path: caFile }
      : given(caData)
      ? { _tag: "Data", pem: caData }
      : { _tag: "Platform" },
    serverName: given(sniName) ? sniName.trim() : undefined
  })
}

/**
 * CA bundles are a few KiB: a file of more than 1 MiB is refused unread.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxCaFileBytes = 1024 * 1024

/**
 * A CA the platform could not use (`detail` is what it said).
 *
 * @since 0.1.0
 * @category constructors
 */
export const unusableCa = (variable: string, detail: string): Problem.InvalidIdentity =>
  invalid(`${variable} holds no usable CA certificate: ${detail}`)

/**
 * A CA file that could not be read: nothing is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const caFileUnread = (checked: Checked, path: string, failure: FileRead.Failure): Problem.SourceUnavailable =>
  Problem.sourceUnavailable(
    "WorkloadIdentity",
    checked.url,
    `${variables.caFile} ${path} ${FileRead.describe(failure, maxCaFileBytes)}`
  )

/**
 * An empty CA file before any was read: the cluster is rotating it, and there is no CA to trust meanwhile.
 *
 * @since 0.1.0
 * @category constructors
 */
export const caFileRotating = (checked: Checked, path: string): Problem.SourceUnavailable =>
  Problem.sourceUnavailable(
    "WorkloadIdentity",
    checked.url,
    `${variables.caFile} ${path} is empty: its CA is being rotated`
  )
