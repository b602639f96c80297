/**
 * `managed-identity doctor`: `ManagedIdentityDiagnosis.diagnose` on this host, printed as a short page or as JSON.
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as FederatedCredentialTokenSource from "@managed-identity/core/FederatedCredentialTokenSource"
import * as ManagedIdentity from "@managed-identity/core/ManagedIdentity"
import * as ManagedIdentityDiagnosis from "@managed-identity/core/ManagedIdentityDiagnosis"
import { printable } from "@managed-identity/core/ManagedIdentityError"
import * as TokenCache from "@managed-identity/core/TokenCache"
import * as TokenSource from "@managed-identity/core/TokenSource"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as NodeManagedIdentity from "../NodeManagedIdentity.js"
import * as NodeTokenCache from "../NodeTokenCache.js"
import { exitWith, json, optionalText } from "./flags.js"
import {
  clientArcKeyDirectory,
  clientIdentityBindings,
  federatedFrom,
  federatedOptions,
  identityFrom,
  identityOptions,
  withFederatedVariables
} from "./token.js"

type Diagnosis = ManagedIdentityDiagnosis.Diagnosis
type Target = Diagnosis["sources"][number]["variables"][number]["target"]
type Claims = NonNullable<NonNullable<Diagnosis["token"]>["claims"]>

const targetText = (target: Target): string => {
  switch (target._tag) {
    case "Url":
      return `${target.scheme}://${target.host}:${target.port}${target.path}`
    case "File":
      return target.path
    case "NotUrl":
      return "set, but not a URL"
    case "Secret":
      return "set (a secret: not shown)"
    case "Set":
      return "set"
    case "NotSet":
      return "not set"
  }
}

const millisText = (millis: number): string => millis < 1000 ? `${millis} ms` : `${(millis / 1000).toFixed(1)} s`

const isoSeconds = (dateTime: DateTime.DateTime): string => DateTime.formatIso(dateTime).replace(/\.\d{3}Z$/, "Z")

/** Lines of `rows`, each cell made printable and padded to its column's width. */
const table = (rows: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> => {
  const cells = rows.map((row) => row.map(printable))
  const widths = cells[0].map((_, column) => Math.max(...cells.map((row) => row[column]?.length ?? 0)))
  return cells.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd())
}

/** A labelled block: the label on the first line, the others indented under it, each line made printable. */
const block = (label: string, lines: ReadonlyArray<string>): ReadonlyArray<string> =>
  lines.map((line, index) => `${(index === 0 ? label : "").padEnd(11)}${printable(line)}`)

const requestText = (reachability: Diagnosis["reachability"]): string => {
  if (reachability === null) return "not sent (the source could not be built)"
  const outcome = reachability.outcome._tag === "Token"
    ? `a token in ${millisText(reachability.millis)}`
    : `${reachability.outcome.error}${
      reachability.outcome.status === null ? "" : ` (${reachability.outcome.status})`
    } after ${millisText(reachability.millis)}`
  return `${reachability.endpoint}: ${outcome} (${reachability.probe ? "IMDS probe, " : ""}one attempt, budget ${
    millisText(reachability.budgetMillis)
  })`
}

const cacheText = (cache: Diagnosis["cache"]): string => {
  if (cache.description === null) return "a custom TokenCache"
  switch (cache.description._tag) {
    case "Memory":
      return "in memory (this process only)"
    case "KeyValueStore":
      return "a KeyValueStore"
    case "Directory":
      return `files in ${cache.description.directory}${
        cache.permissions === null
          ? ""
          : ` (directory ${cache.permissions.directoryMode}, ${cache.permissions.files} file(s))`
      }`
  }
}

const tokenKind = (claims: Claims): string =>
  claims.xms_mirid === undefined
    ? "-"
    : /\/userassignedidentities\//i.test(claims.xms_mirid)
    ? "user-assigned"
    : "system-assigned"

const identityTable = (report: Diagnosis, claims: Claims): ReadonlyArray<string> => {
  const identity = report.identity
  const requested = (tag: ManagedIdentity.Identity["_tag"]) =>
    identity._tag === tag && "id" in identity ? identity.id : "-"
  const offset = report.clock === null ? "" : ` (${report.clock.offsetSeconds} s off this clock)`
  const epoch = (seconds: number | undefined) =>
    seconds === undefined ? "-" : isoSeconds(DateTime.unsafeMake(seconds * 1000))
  const audience = claims.aud === undefined ? "-" : typeof claims.aud === "string" ? claims.aud : claims.aud.join(", ")
  return table([
    ["identity", "requested", "token"],
    ["kind", identity._tag === "SystemAssigned" ? "system-assigned" : "user-assigned", tokenKind(claims)],
    ["client id", requested("ClientId"), claims.appid ?? claims.azp ?? "-"],
    ["object id", requested("ObjectId"), claims.oid ?? "-"],
    ["resource id", requested("ResourceId"), claims.xms_mirid ?? "-"],
    ["tenant", "", claims.tid ?? "-"],
    ["audience", report.resource, audience],
    ["issued", "", `${epoch(claims.iat)}${claims.iat === undefined ? "" : offset}`],
    ["expires", "", epoch(claims.exp)],
    ["verdict", report.identityCheck.verdict, ""]
  ])
}

/**
 * The report as a short page: the source and why, what its variables point at, the request and its timing, the token
 * (never the token itself), the identity table, the cache, one line per finding, and a summary line. Every value is
 * made `printable`, so nothing an endpoint or a variable holds can drive the terminal or add a line.
 *
 * @category formatting
 */
export const formatDiagnosis = (report: Diagnosis): string => {
  const count = (level: "error" | "warning") => report.findings.filter((finding) => finding.level === level).length
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`
  const token = report.token
  const variables = table(
    report.sources.flatMap((source) =>
      source.variables.map((variable, index) => [
        index === 0 ? `${TokenSource.titles[source.source]}${source.detected ? "" : " (not detected)"}` : "",
        variable.name,
        targetText(variable.target)
      ])
    )
  )
  const claims = token?.claims ?? null
  return [
    printable(
      `managed-identity doctor: ${TokenSource.titles[report.detection.kind]}, ${
        ManagedIdentity.describe(report.identity)
      }, resource ${report.resource}`
    ),
    "",
    ...block("source", report.detection.reasons),
    ...block("variables", variables.length === 0 ? ["none"] : variables),
    ...block("request", [requestText(report.reachability)]),
    ...block("token", [
      token === null
        ? "none"
        : `${token.tokenType} for ${token.resource} from ${
          token.origin === "cache" ? "the cache" : "the identity provider"
        }, expires ${isoSeconds(token.expiresOn)}${claims === null ? " (not a JWT: no claims to read)" : ""}`
    ]),
    ...block("cache", [cacheText(report.cache)]),
    ...(claims === null ? [] : ["", ...identityTable(report, claims)]),
    "",
    "findings",
    ...table(report.findings.map((finding) => [finding.level, finding.code, finding.message])),
    "",
    `doctor: ${plural(count("error"), "error")}, ${plural(count("warning"), "warning")} in ${
      millisText(report.elapsedMillis)
    }`
  ].join("\n")
}

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/**
 * `managed-identity doctor [--resource <uri>] [identity flags] [--budget <seconds>] [--cache-directory <dir>]
 * [--arc-key-directory <dir>] [--identity-bindings] [--json]`.
 *
 * @category commands
 */
export const doctor = Command.make(
  "doctor",
  {
    resource: optionalText(
      "resource",
      `The resource to get a token for (default ${ManagedIdentityDiagnosis.defaultResource})`
    ).pipe(Options.withPseudoName("uri")),
    budget: Options.float("budget").pipe(
      Options.withPseudoName("seconds"),
      Options.mapEffect((seconds) =>
        seconds > 0 && seconds <= 600
          ? Effect.succeed(Duration.millis(Math.round(seconds * 1000)))
          : Effect.fail(invalid("--budget must be more than 0 and at most 600 seconds"))
      ),
      Options.optional,
      Options.withDescription(
        `How long the one request to the source may take (default ${
          Duration.format(ManagedIdentityDiagnosis.defaultBudget)
        })`
      )
    ),
    cacheDirectory: optionalText(
      "cache-directory",
      "Diagnose the file cache in this directory (opened as NodeTokenCache.layerFile opens it: created if missing, " +
        "made private) instead of an in-memory cache"
    ).pipe(Options.withPseudoName("directory")),
    arcKeyDirectory: clientArcKeyDirectory,
    identityBindings: clientIdentityBindings,
    json,
    ...identityOptions,
    ...federatedOptions
  },
  (flags) =>
    Effect.gen(function*() {
      const identity = yield* identityFrom(flags)
      const federated = federatedFrom(flags)
      const application = yield* Option.match(federated, {
        onNone: () => Effect.succeed(undefined),
        onSome: (variables) => withFederatedVariables(variables)(FederatedCredentialTokenSource.config)
      })
      const report = yield* ManagedIdentityDiagnosis.diagnose({
        resource: Option.getOrUndefined(flags.resource),
        budget: Option.getOrUndefined(flags.budget),
        azureArcKeyDirectory: Option.getOrUndefined(flags.arcKeyDirectory),
        identityBindings: flags.identityBindings,
        federatedCredential: application
      }).pipe(
        Effect.provide(Option.match(flags.cacheDirectory, {
          onNone: () => TokenCache.layerMemory,
          onSome: NodeTokenCache.layerFile
        })),
        Effect.provideService(ManagedIdentity.ManagedIdentity, identity),
        Effect.provide(NodeManagedIdentity.layerPlatform)
      )
      yield* Console.log(
        flags.json
          ? JSON.stringify(Schema.encodeSync(ManagedIdentityDiagnosis.Diagnosis)(report))
          : formatDiagnosis(report)
      )
      if (report.findings.some((finding) => finding.level === "error")) yield* exitWith(1)
    })
).pipe(
  Command.withDescription(
    "Explain this host: the detected source and why, what its variables point at (never a secret), one timed " +
      "request, the identity the token names against the one asked for, the token's issue time against this clock, " +
      "and the cache; one line per finding (with --json: the report). With --federated, hop 1 asks for the " +
      "token-exchange audience and hop 2 exchanges that token for the application's (federated.* findings). Never " +
      "prints a token or a secret. Exit codes: " +
      "0 no error finding, 1 an error finding, 2 usage error."
  )
)
