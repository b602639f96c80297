/**
 * `managed-identity emulator`: the emulator on 127.0.0.1 until interrupted, and the variables that point at it.
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as ManagedIdentitySource from "@managed-identity/core/ManagedIdentitySource"
import * as TokenSource from "@managed-identity/core/TokenSource"
import type * as ManagedIdentityEmulator from "@managed-identity/emulator/ManagedIdentityEmulator"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { arcKeyDirectory, identityBindings, json, UsageError } from "./flags.js"

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/** The emulator is loaded when the command runs, so the other commands never load it. */
const loadEmulator = Effect.promise(() => import("@managed-identity/emulator/ManagedIdentityEmulator"))

const sourceNames: ReadonlyArray<readonly [string, TokenSource.SourceKind]> = [
  ["imds", "Imds"],
  ["app-service", "AppService"],
  ["service-fabric", "ServiceFabric"],
  ["azure-arc", "AzureArc"],
  ["cloud-shell", "CloudShell"],
  ["machine-learning", "MachineLearning"],
  ["workload-identity", "WorkloadIdentity"],
  ["federated-credential", "FederatedCredential"]
]

const simplify = (name: string) => name.toLowerCase().replace(/[-_]/g, "")

const sourceKindOf = (name: string): Effect.Effect<TokenSource.SourceKind, ValidationError.ValidationError> => {
  const found = sourceNames.find(([cli]) => simplify(cli) === simplify(name))
  return found === undefined
    ? Effect.fail(invalid(`Unknown source '${name}': use one of ${sourceNames.map(([cli]) => cli).join(", ")}`))
    : Effect.succeed(found[1])
}

const shellQuote = (value: string) => /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`

/** What a source's block says besides its variables. */
const notes = (emulator: ManagedIdentityEmulator.Emulator, kind: TokenSource.SourceKind, bindings: boolean) => {
  switch (kind) {
    case "AzureArc":
      return [
        `# key files are written to ${emulator.arcKeyDirectory}: pass --arc-key-directory ${
          shellQuote(emulator.arcKeyDirectory)
        } to managed-identity token`
      ]
    case "WorkloadIdentity":
      return [
        "# NODE_EXTRA_CA_CERTS makes Node trust the STS's CA (it is read when node starts)",
        `# rotate the federated token: curl -X POST ${emulator.baseUrl}/_emulator/workload-identity/rotate`,
        ...(bindings
          ? ["# identity bindings: pass --identity-bindings to managed-identity token"]
          : ["# identity bindings (the token proxy): run the emulator with --identity-bindings"])
      ]
    default:
      return []
  }
}

const exportBlock = (
  emulator: ManagedIdentityEmulator.Emulator,
  kind: TokenSource.SourceKind,
  bindings: boolean
) => {
  const env = emulator.env(kind, { identityBindings: bindings })
  const unset = ManagedIdentitySource.variables.filter((name) => !(name in env))
  return [
    `# ${TokenSource.titles[kind]}`,
    ...notes(emulator, kind, bindings),
    ...(unset.length === 0 ? [] : [`unset ${unset.join(" ")}`]),
    ...Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}`)
  ].join("\n")
}

/**
 * `managed-identity emulator [--port n] [--source kind | --all] [--fault <json>] [--token-lifetime s]
 * [--identity-bindings] [--json]`.
 *
 * @category commands
 */
export const emulator = Command.make(
  "emulator",
  {
    port: Options.integer("port").pipe(
      Options.mapEffect((port) =>
        port >= 0 && port <= 65535 ? Effect.succeed(port) : Effect.fail(invalid(`--port ${port} is not 0 to 65535`))
      ),
      Options.withDefault(0),
      Options.withDescription("Port of the HTTP server on 127.0.0.1 (0, the default, picks a free one)")
    ),
    source: Options.text("source").pipe(
      Options.withPseudoName("kind"),
      Options.mapEffect(sourceKindOf),
      Options.optional,
      Options.withDescription(
        `The source whose variables to print (default imds): ${sourceNames.map(([cli]) => cli).join(", ")}`
      )
    ),
    all: Options.boolean("all").pipe(Options.withDescription("Print the variables of every source, a block each")),
    fault: Options.text("fault").pipe(
      Options.withPseudoName("json"),
      Options.mapEffect((text) =>
        loadEmulator.pipe(
          Effect.flatMap((Emulator) => Emulator.decodeFaultScripts(text)),
          Effect.mapError((error) => invalid(error.message))
        )
      ),
      Options.optional,
      Options.withDescription(
        "Fault scripts by source, e.g. '{\"Imds\":[{\"status\":500,\"times\":2},{\"delay\":3000}]}'"
      )
    ),
    tokenLifetime: Options.integer("token-lifetime").pipe(
      Options.withPseudoName("seconds"),
      Options.mapEffect((seconds) =>
        seconds > 0 ? Effect.succeed(seconds) : Effect.fail(invalid("--token-lifetime must be positive"))
      ),
      Options.optional,
      Options.withDescription("Lifetime of issued tokens (default 86400)")
    ),
    arcKeyDirectory: arcKeyDirectory.pipe(
      Options.withDescription("Where Azure Arc key files are written (default a temporary directory)")
    ),
    identityBindings: identityBindings.pipe(
      Options.withDescription(
        "Workload identity's variables include the identity-binding token proxy (AZURE_KUBERNETES_TOKEN_PROXY, " +
          "AZURE_KUBERNETES_SNI_NAME, AZURE_KUBERNETES_CA_FILE)"
      )
    ),
    json
  },
  (flags) =>
    Effect.gen(function*() {
      if (flags.all && Option.isSome(flags.source)) {
        return yield* Effect.fail(new UsageError("choose --source or --all, not both"))
      }
      const kinds = flags.all
        ? TokenSource.SourceKind.literals
        : [Option.getOrElse(flags.source, () => "Imds" as const)]
      const { start } = yield* loadEmulator
      const running = yield* start({
        port: flags.port,
        ...Option.match(flags.fault, { onNone: () => ({}), onSome: (faults) => ({ faults }) }),
        ...Option.match(flags.tokenLifetime, {
          onNone: () => ({}),
          onSome: (seconds) => ({ tokenLifetime: Duration.seconds(seconds) })
        }),
        ...Option.match(flags.arcKeyDirectory, {
          onNone: () => ({}),
          onSome: (directory) => ({ arcKeyDirectory: directory })
        })
      })
      yield* Console.log(
        flags.json
          ? JSON.stringify({
            baseUrl: running.baseUrl,
            serviceFabricUrl: running.serviceFabricUrl,
            thumbprint: running.thumbprint,
            arcKeyDirectory: running.arcKeyDirectory,
            openId: {
              issuer: running.openId.issuer,
              configurationUrl: running.openId.configurationUrl,
              jwksUri: running.openId.jwksUri,
              caFile: running.workloadIdentity.caFile
            },
            env: Object.fromEntries(
              kinds.map((kind) => [kind, running.env(kind, { identityBindings: flags.identityBindings })])
            )
          })
          : [
            `# managed-identity emulator on ${running.baseUrl}, Service Fabric on ${running.serviceFabricUrl}\n` +
            `# tokens: RS256 JWTs issued by ${running.openId.issuer}\n` +
            `# their keys (JWKS): ${running.openId.jwksUri} (its CA: ${running.workloadIdentity.caFile})\n` +
            "# the secrets below are the emulator's own, random per start; Ctrl-C stops it",
            ...kinds.map((kind) => exportBlock(running, kind, flags.identityBindings))
          ].join("\n\n")
      )
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Run the emulator on 127.0.0.1 until interrupted and print the `export` lines that point a process at it " +
      "(with --json: the same variables by source). The secrets printed (IDENTITY_HEADER, MSI_SECRET) are the " +
      "emulator's own test secrets, random per start, and the Service Fabric thumbprint is that of its " +
      "self-signed certificate. Workload identity's STS is HTTPS with the emulator's own CA: its variables " +
      "include NODE_EXTRA_CA_CERTS, and the federated token file is the emulator's own test token. Tokens are " +
      "RS256 JWTs signed with the emulator's key: the first lines name their issuer and the JWKS URL (with " +
      "--json: openId), for a service that checks them as it checks Entra's."
  )
)
