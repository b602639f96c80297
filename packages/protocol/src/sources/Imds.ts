/**
 * IMDS, the Azure Instance Metadata Service (VMs, VM scale sets, AKS nodes, Container Instances): detected when no
 * other source is, its first contact bounded by a probe.
 *
 * @since 0.1.0
 */
import type * as Answer from "../Answer.js"
import * as Endpoint from "../Endpoint.js"
import * as Identity from "../Identity.js"
import * as Problem from "../Problem.js"
import * as Request from "../Request.js"
import * as Result from "../Result.js"
import * as Source from "../Source.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion = "2018-02-01"

/**
 * The IMDS host when `AZURE_POD_IDENTITY_AUTHORITY_HOST` is not set.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAuthorityHost = "http://169.254.169.254"

/**
 * The variable that names another IMDS host (AAD Pod Identity's NMI, or the emulator).
 *
 * @since 0.1.0
 * @category constants
 */
export const authorityHostVariable = "AZURE_POD_IDENTITY_AUTHORITY_HOST"

/**
 * The token URL for an authority host: `<host>/metadata/identity/oauth2/token`, the host's leading and trailing `/`
 * removed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tokenUrl = (authorityHost: string): string =>
  `${authorityHost.replace(/^\/+|\/+$/g, "")}/metadata/identity/oauth2/token`

/**
 * @since 0.1.0
 * @category models
 */
export const facts: Source.Facts<"Imds"> = Source.make({
  kind: "Imds",
  variables: [{ name: authorityHostVariable, role: "url" }],
  detectionVariables: [],
  presentWhen: [authorityHostVariable],
  detect: () => ({ _tag: "Detected", reason: "no variable or file selects another source" }),
  endpoint: (lookup) => tokenUrl(lookup(authorityHostVariable) ?? defaultAuthorityHost),
  retry: "Imds"
})

/**
 * A checked source: its token URL, and the identity it asks for.
 *
 * @since 0.1.0
 * @category models
 */
export interface Checked {
  readonly url: string
  readonly identity: Identity.Identity
}

/**
 * Checks the token URL: an http or https URL without a user name or password.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkUrl = (url: string): Result.Result<string, Problem.InvalidIdentity> =>
  Result.map(Endpoint.publicEndpoint("Imds", authorityHostVariable, url), () => url)

/**
 * Checks the token URL ({@link checkUrl}) for a source asking for `identity`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (url: string, identity: Identity.Identity): Result.Result<Checked, Problem.InvalidIdentity> =>
  Result.map(checkUrl(url), () => ({ url, identity }))

/**
 * `GET <url>?api-version=2018-02-01&resource=…&<selector>` with `Metadata: true`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = (checked: Checked, tokenRequest: Request.TokenRequest): Request.Request =>
  Request.get(checked.url, apiVersion, tokenRequest.resource, {
    query: Identity.selectorQuery(Identity.msiSelectors, checked.identity),
    headers: { Metadata: "true" }
  })

/** The resource named by {@link probeRequest}, which asks for no token. */
const probeResource = "https://management.azure.com"

/**
 * A request that reaches IMDS without asking for a token: no `Metadata` header, which IMDS answers `400`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const probeRequest = (url: string): Request.Request =>
  Request.get(url, apiVersion, probeResource, { headers: {} })

/**
 * Docker Desktop answers for a host it cannot reach with a `403` whose body says so.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isUnreachableAnswer = (answer: Pick<Answer.Answer, "status" | "body">): boolean =>
  answer.status === 403 && /unreachable/i.test(answer.body)

/**
 * The probe's `SourceUnavailable`: not retried, and not remembered (the next request probes again).
 *
 * @since 0.1.0
 * @category constructors
 */
export const probeFailed = (endpoint: string, reason: string): Problem.SourceUnavailable =>
  Problem.sourceUnavailable(
    "Imds",
    endpoint,
    `${reason} (IMDS probe; the next request probes again): most likely not an Azure host with IMDS`
  )

/**
 * Docker Desktop's `403 … unreachable`, as the probe says it.
 *
 * @since 0.1.0
 * @category constants
 */
export const unreachableReason = "it answered 403 saying the host is unreachable (Docker Desktop's answer)"
