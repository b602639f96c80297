/**
 * What a diagnosis of a host says, as plain data: findings with stable codes, what each source's variables point at
 * (never a secret), and the finding a timed request to the detected source amounts to.
 *
 * @since 0.1.0
 */
import * as Endpoint from "./Endpoint.js"
import * as Identity from "./Identity.js"
import * as Problem from "./Problem.js"
import type * as Source from "./Source.js"
import type { SourceKind } from "./SourceKind.js"
import { kinds, titles } from "./SourceKind.js"
import * as Sources from "./Sources.js"

/**
 * How serious a finding is: `error` findings make `managed-identity doctor` exit 1.
 *
 * @since 0.1.0
 * @category models
 */
export type FindingLevel = "ok" | "warning" | "error"

/**
 * The stable codes of findings, which a tool can act on.
 *
 * @since 0.1.0
 * @category constants
 */
export const findingCodes = [
  "source.detected",
  "source.reachable",
  "source.unavailable",
  "source.failed",
  "source.misconfigured",
  "token.received",
  "token.not-jwt",
  "identity.match",
  "identity.mismatch",
  "identity.unconfirmed",
  "identity.default",
  "clock.ok",
  "clock.skew",
  "cache.memory",
  "cache.key-value-store",
  "cache.directory",
  "cache.permissions",
  "cache.unchecked",
  "cache.custom",
  "proxy.bypassed",
  "proxy.caught",
  "federated.exchanged",
  "federated.refused",
  "federated.failed",
  "federated.misconfigured",
  "federated.skipped"
] as const

/**
 * @since 0.1.0
 * @category models
 */
export type FindingCode = typeof findingCodes[number]

/**
 * One finding: how serious, a stable code, and a one-line message that names no secret.
 *
 * @since 0.1.0
 * @category models
 */
export interface Finding {
  readonly level: FindingLevel
  readonly code: FindingCode
  readonly message: string
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const finding = (level: FindingLevel, code: FindingCode, message: string): Finding => ({ level, code, message })

/**
 * The requested identity against the token's claims: the verdict, both identities in words, the known cause of a
 * mismatch.
 *
 * @since 0.1.0
 * @category models
 */
export interface IdentityCheck {
  readonly verdict: "match" | "mismatch" | "unconfirmed" | "unchecked"
  readonly requested: string
  readonly received: string | null
  readonly cause: string | null
}

/**
 * What a variable points at: a URL's scheme, host, port and path, or a file's path; for anything else (ids, secrets),
 * only whether it is set.
 *
 * @since 0.1.0
 * @category models
 */
export type Target =
  | {
    readonly _tag: "Url"
    readonly scheme: string
    readonly host: string
    readonly port: number
    readonly path: string
  }
  | { readonly _tag: "File"; readonly path: string }
  | { readonly _tag: "NotUrl" }
  | { readonly _tag: "Secret" }
  | { readonly _tag: "Set" }
  | { readonly _tag: "NotSet" }

/**
 * A source's variables and what each points at.
 *
 * @since 0.1.0
 * @category models
 */
export interface SourceVariables {
  readonly source: SourceKind
  readonly detected: boolean
  readonly variables: ReadonlyArray<{ readonly name: string; readonly target: Target }>
}

/**
 * Every variable some source reads, once.
 *
 * @since 0.1.0
 * @category constants
 */
export const variableNames: ReadonlyArray<string> = [
  ...new Set(kinds.flatMap((kind) => Sources.byKind[kind].variables.map(({ name }) => name)))
]

const defaultPorts: Readonly<Record<string, number>> = { "http:": 80, "https:": 443 }

/**
 * A URL's scheme, host, port and path, never its user name, password, query or fragment.
 *
 * @since 0.1.0
 * @category constructors
 */
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

const targetOf = (role: Source.Role, value: string | undefined): Target =>
  value === undefined
    ? { _tag: "NotSet" }
    : role === "url"
    ? urlTarget(value)
    : role === "path"
    ? { _tag: "File", path: value }
    : { _tag: role === "secret" ? "Secret" : "Set" }

/**
 * The detected source's variables, and those of every other source whose variables are all set (detection's order
 * passed it over), each with what it points at; `lookup` gives a variable's value (`undefined`: unset). Secrets are
 * only said to be set.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sourcesOf = (
  detected: SourceKind,
  lookup: (name: string) => string | undefined
): ReadonlyArray<SourceVariables> =>
  kinds.flatMap((kind) => {
    const { presentWhen, variables } = Sources.byKind[kind]
    if (kind !== detected && !presentWhen.every((name) => lookup(name) !== undefined)) return []
    return [{
      source: kind,
      detected: kind === detected,
      variables: variables.map(({ name, role }) => ({ name, target: targetOf(role, lookup(name)) }))
    }]
  })

/**
 * The URL the source of `kind` sends to, as messages show it (`Endpoint.displayUrl`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const endpointOf = (
  kind: SourceKind,
  lookup: (name: string) => string | undefined,
  identityBindings: boolean
): string => {
  const url = Sources.byKind[kind].endpoint(lookup, identityBindings)
  return url === undefined ? "(not set, or not valid)" : Endpoint.displayUrl(url)
}

const formatMillis = (millis: number): string => millis < 1000 ? `${millis} ms` : `${(millis / 1000).toFixed(1)} s`

/**
 * The timed request to the detected source: where it went, within which budget (`budget`, as the line writes a
 * duration), how long it took, and the problem it ended in (`undefined`: a token).
 *
 * @since 0.1.0
 * @category models
 */
export interface Attempt {
  readonly kind: SourceKind
  readonly endpoint: string
  readonly budget: string
  readonly millis: number
  readonly problem: Problem.Problem | undefined
}

/**
 * The reachability finding of the timed request, and for an `IdentityNotConfirmed`, the identity check it amounts to.
 *
 * @since 0.1.0
 * @category constructors
 */
export const reachability = (
  attempt: Attempt,
  identity: Identity.Identity
): { readonly finding: Finding; readonly identityCheck: IdentityCheck | undefined } => {
  const title = titles[attempt.kind]
  const plain = (level: FindingLevel, code: FindingCode, message: string) => ({
    finding: finding(level, code, message),
    identityCheck: undefined
  })
  const problem = attempt.problem
  if (problem === undefined) {
    return plain("ok", "source.reachable", `${title} answered with a token in ${formatMillis(attempt.millis)}`)
  }
  switch (problem._tag) {
    case "Timeout":
      return plain(
        "error",
        "source.unavailable",
        `${title} did not answer within ${attempt.budget} at ${attempt.endpoint}`
      )
    case "SourceUnavailable":
      return plain("error", "source.unavailable", `${title} is not reachable at ${problem.endpoint}: ${problem.reason}`)
    case "InvalidIdentity":
      return plain("error", "source.misconfigured", Problem.messageOf(problem))
    case "IdentityNotConfirmed": {
      const requested = Identity.describe(identity)
      const received = problem.received ?? null
      const cause = "Azure Arc ignores an identity selector it does not know and answers for the machine's " +
        "identity; check that the identity is assigned to this machine"
      return {
        finding: finding(
          "error",
          "identity.mismatch",
          `asked for ${requested} (${problem.expected}), ${title} answered for ${
            received ?? "an identity it did not name"
          }: ${cause}`
        ),
        identityCheck: { verdict: "mismatch", requested, received, cause }
      }
    }
    default:
      return plain(
        "error",
        "source.failed",
        `${title} gave no token (${formatMillis(attempt.millis)}): ${problem._tag}: ${Problem.messageOf(problem)}`
      )
  }
}
