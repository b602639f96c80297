import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { InvalidIdentity, type ManagedIdentityError, SourceUnavailable } from "../ManagedIdentityError.js"
import * as FileReader from "./fileReader.js"

/** Which servers a client trusts. */
export interface Trust {
  /** PEM certificates, the only authorities trusted; without, the platform's default trust. */
  readonly ca?: string | undefined
  /** The TLS server name (SNI), which the server's certificate must be valid for; without, the URL's host. */
  readonly serverName?: string | undefined
}

/** Builds a client that trusts exactly `trust`; fails with `InvalidIdentity` if `ca` holds no certificate. */
export type ForTrust = (trust: Trust) => Effect.Effect<HttpClient.HttpClient, InvalidIdentity>

/** Identity bindings: the proxy the exchange goes to instead of the authority, and what is trusted there. */
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

/** The variables of identity bindings, by option. */
export const variables = {
  url: "AZURE_KUBERNETES_TOKEN_PROXY",
  sniName: "AZURE_KUBERNETES_SNI_NAME",
  caFile: "AZURE_KUBERNETES_CA_FILE",
  caData: "AZURE_KUBERNETES_CA_DATA"
} as const

type CaSource =
  | { readonly _tag: "Platform" }
  | { readonly _tag: "Data"; readonly pem: string }
  | { readonly _tag: "File"; readonly path: string }

/** A proxy configuration that passed every check: the token URL at the proxy, the CA source, the server name. */
export interface Checked {
  readonly url: string
  readonly ca: CaSource
  readonly serverName: string | undefined
}

const invalid = (reason: string) => new InvalidIdentity({ source: "WorkloadIdentity", reason })

const given = (value: string | undefined): value is string => value !== undefined && value.trim() !== ""

/**
 * Checks a proxy configuration as the Azure SDKs do: a proxy setting without `AZURE_KUBERNETES_TOKEN_PROXY` is a
 * mistake, not a reason to fall back to the authority; the proxy is an https URL without userinfo, query or fragment;
 * `AZURE_KUBERNETES_CA_FILE` and `AZURE_KUBERNETES_CA_DATA` exclude each other. The token path (the authority's path,
 * `/{tenant}/oauth2/v2.0/token`) is appended to the proxy's path.
 */
export const check = (proxy: TokenProxy, tokenPath: string): Either.Either<Checked, InvalidIdentity> => {
  const { caData, caFile, sniName, url } = proxy
  if (!given(url)) {
    const set = (["sniName", "caFile", "caData"] as const).filter((key) => given(proxy[key])).map((key) =>
      variables[key]
    )
    return Either.left(invalid(`${variables.url} is not set but ${set.join(", ")} ${set.length > 1 ? "are" : "is"}`))
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Either.left(invalid(`${variables.url} is not a URL`))
  }
  if (parsed.protocol !== "https:") return Either.left(invalid(`${variables.url} must be an https URL`))
  if (parsed.username !== "" || parsed.password !== "") {
    return Either.left(invalid(`${variables.url} must not contain userinfo`))
  }
  if (parsed.search !== "" || url.includes("?")) {
    return Either.left(invalid(`${variables.url} must not contain a query`))
  }
  if (parsed.hash !== "" || url.includes("#")) {
    return Either.left(invalid(`${variables.url} must not contain a fragment`))
  }
  if (given(caFile) && given(caData)) {
    return Either.left(invalid(`${variables.caFile} and ${variables.caData} exclude each other: set only one`))
  }
  if (given(sniName) && !/^[A-Za-z0-9.-]+$/.test(sniName.trim())) {
    return Either.left(invalid(`${variables.sniName} must be a DNS name`))
  }
  return Either.right({
    url: `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}${tokenPath}`,
    ca: given(caFile)
      ? { _tag: "File", path: caFile }
      : given(caData)
      ? { _tag: "Data", pem: caData }
      : { _tag: "Platform" },
    serverName: given(sniName) ? sniName.trim() : undefined
  })
}

/** CA bundles are a few KiB: a file of more than 1 MiB is refused unread. */
export const maxCaFileBytes = 1024 * 1024

/**
 * The client of each attempt to a checked proxy. A CA file is read every time (by `read`, links followed, at most
 * {@link maxCaFileBytes}): new content means a new client that trusts it; an empty file means the cluster is rotating
 * it, so the last CA read keeps being trusted (or, when none was read yet, the attempt fails with `SourceUnavailable`
 * and nothing is sent). A file that cannot be read — missing, a FIFO, a device, a directory, too large — is a
 * `SourceUnavailable` naming `AZURE_KUBERNETES_CA_FILE`.
 */
export const clients = (
  checked: Checked,
  forTrust: ForTrust,
  read: FileReader.Read
): Effect.Effect<Effect.Effect<HttpClient.HttpClient, ManagedIdentityError>> =>
  Effect.map(Ref.make(Option.none<string>()), (lastCa) => {
    const { ca, serverName } = checked
    const unusable = (variable: string) => (error: InvalidIdentity) =>
      invalid(`${variable} holds no usable CA certificate: ${error.reason}`)
    if (ca._tag === "Platform") return forTrust({ serverName })
    if (ca._tag === "Data") return Effect.mapError(forTrust({ ca: ca.pem, serverName }), unusable(variables.caData))
    const unavailable = (reason: string) =>
      new SourceUnavailable({ source: "WorkloadIdentity", endpoint: checked.url, reason })
    const trusted = (pem: string) => Effect.mapError(forTrust({ ca: pem, serverName }), unusable(variables.caFile))
    return read(ca.path, { maxBytes: maxCaFileBytes, followLinks: true }).pipe(
      Effect.mapError((failure) =>
        unavailable(`${variables.caFile} ${ca.path} ${FileReader.describe(failure, maxCaFileBytes)}`)
      ),
      Effect.map((bytes) => new TextDecoder().decode(bytes)),
      Effect.flatMap((pem) =>
        pem.trim() !== ""
          ? Effect.tap(trusted(pem), () => Ref.set(lastCa, Option.some(pem)))
          : Effect.flatMap(Ref.get(lastCa), (last): Effect.Effect<HttpClient.HttpClient, ManagedIdentityError> =>
            Option.match(last, {
              onNone: () =>
                Effect.fail(unavailable(`${variables.caFile} ${ca.path} is empty: its CA is being rotated`)),
              onSome: trusted
            }))
      )
    )
  })
