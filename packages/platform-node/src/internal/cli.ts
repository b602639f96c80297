import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as ManagedIdentity from "@managed-identity/core/ManagedIdentity"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import { isManagedIdentityError, type ManagedIdentityError } from "@managed-identity/core/ManagedIdentityError"
import * as ManagedIdentitySource from "@managed-identity/core/ManagedIdentitySource"
import * as TokenCache from "@managed-identity/core/TokenCache"
import * as ConfigError from "effect/ConfigError"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as ManagedIdentityEmulator from "../ManagedIdentityEmulator.js"
import * as NodeManagedIdentity from "../NodeManagedIdentity.js"
import * as Demo from "./demo.js"

/** A usage error found after parsing (conflicting flags); exits 2 like the parser's own. */
class UsageError {
  readonly _tag = "UsageError"
  constructor(readonly message: string) {}
}

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

const json = Options.boolean("json").pipe(Options.withDescription("Print JSON instead of text"))

const arcKeyDirectory = Options.text("arc-key-directory").pipe(
  Options.withPseudoName("directory"),
  Options.optional
)

const identityOptions = {
  clientId: Options.text("client-id").pipe(
    Options.withDescription("User-assigned identity by client id"),
    Options.optional
  ),
  resourceId: Options.text("resource-id").pipe(
    Options.withDescription("User-assigned identity by Azure resource id"),
    Options.optional
  ),
  objectId: Options.text("object-id").pipe(
    Options.withDescription("User-assigned identity by object id"),
    Options.optional
  ),
  identityJson: Options.text("identity-json").pipe(
    Options.withDescription("MSAL's identity JSON, e.g. '{\"ManagedIdentityIdType\":\"ClientId\",\"Id\":\"…\"}'"),
    Options.optional
  )
}

type IdentityFlags = { readonly [K in keyof typeof identityOptions]: Option.Option<string> }

const identityFrom = (
  flags: IdentityFlags
): Effect.Effect<ManagedIdentity.Identity, UsageError | ManagedIdentityError> => {
  const given = [
    Option.map(flags.clientId, (id) => Effect.succeed(ManagedIdentity.clientId(id))),
    Option.map(flags.resourceId, (id) => Effect.succeed(ManagedIdentity.resourceId(id))),
    Option.map(flags.objectId, (id) => Effect.succeed(ManagedIdentity.objectId(id))),
    Option.map(flags.identityJson, ManagedIdentity.fromMsalJson)
  ].flatMap(Option.toArray)
  if (given.length > 1) {
    return Effect.fail(
      new UsageError("choose at most one of --client-id, --resource-id, --object-id and --identity-json")
    )
  }
  return given[0] ?? Effect.succeed(ManagedIdentity.systemAssigned)
}

const clientLayer = (identity: ManagedIdentity.Identity, azureArcKeyDirectory: Option.Option<string>) =>
  ManagedIdentityClient.layer.pipe(
    Layer.provide(
      ManagedIdentitySource.layerWithOptions({ azureArcKeyDirectory: Option.getOrUndefined(azureArcKeyDirectory) })
    ),
    Layer.provide(TokenCache.layerMemory),
    Layer.provide(ManagedIdentity.layer(identity)),
    Layer.provide(NodeManagedIdentity.layerPlatform)
  )

const token = Command.make(
  "token",
  {
    resource: Options.text("resource").pipe(
      Options.withPseudoName("uri"),
      Options.withDescription("The resource, e.g. https://vault.azure.net")
    ),
    claims: Options.text("claims").pipe(Options.withDescription("A claims challenge (JSON)"), Options.optional),
    arcKeyDirectory: arcKeyDirectory.pipe(
      Options.withDescription(
        "Where Azure Arc key files are (default: the agent's directory); `managed-identity emulator` prints its own"
      )
    ),
    json,
    ...identityOptions
  },
  (flags) =>
    Effect.flatMap(identityFrom(flags), (identity) =>
      Effect.gen(function*() {
        const client = yield* ManagedIdentityClient.ManagedIdentityClient
        const accessToken = yield* client.getToken(flags.resource, { claims: Option.getOrUndefined(flags.claims) })
        yield* Console.log(
          flags.json
            ? JSON.stringify({
              accessToken: Redacted.value(accessToken.token),
              tokenType: accessToken.tokenType,
              expiresOn: DateTime.formatIso(accessToken.expiresOn),
              resource: accessToken.resource,
              source: accessToken.source
            })
            : Redacted.value(accessToken.token)
        )
      }).pipe(Effect.provide(clientLayer(identity, flags.arcKeyDirectory))))
).pipe(
  Command.withDescription(
    "Get an access token for a resource from the detected managed identity source and print it (with --json: " +
      "accessToken, tokenType, expiresOn, resource, source). Exit codes: 0 success, 1 token error " +
      "(`<ErrorTag>: <message>` on stderr), 2 usage error."
  )
)

const source = Command.make("source", { json }, (flags) =>
  Effect.gen(function*() {
    const detection = yield* ManagedIdentitySource.detect.pipe(Effect.provide(NodeManagedIdentity.layerPlatform))
    yield* Console.log(
      flags.json
        ? JSON.stringify(detection)
        : [detection.kind, ...detection.reasons.map((reason) => `  ${reason}`)].join("\n")
    )
  })).pipe(
    Command.withDescription(
      "Show the detected managed identity source and why it was chosen (variable names and files checked, never values)"
    )
  )

const sourceNames: ReadonlyArray<readonly [string, ManagedIdentityEmulator.SourceKind]> = [
  ["imds", "Imds"],
  ["app-service", "AppService"],
  ["service-fabric", "ServiceFabric"],
  ["azure-arc", "AzureArc"],
  ["cloud-shell", "CloudShell"],
  ["machine-learning", "MachineLearning"]
]

const simplify = (name: string) => name.toLowerCase().replace(/[-_]/g, "")

const sourceKindOf = (
  name: string
): Effect.Effect<ManagedIdentityEmulator.SourceKind, ValidationError.ValidationError> => {
  const found = sourceNames.find(([cli]) => simplify(cli) === simplify(name))
  return found === undefined
    ? Effect.fail(invalid(`Unknown source '${name}': use one of ${sourceNames.map(([cli]) => cli).join(", ")}`))
    : Effect.succeed(found[1])
}

const titles: Readonly<Record<ManagedIdentityEmulator.SourceKind, string>> = {
  Imds: "IMDS",
  AppService: "App Service",
  ServiceFabric: "Service Fabric",
  AzureArc: "Azure Arc",
  CloudShell: "Cloud Shell",
  MachineLearning: "Azure Machine Learning"
}

const shellQuote = (value: string) => /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`

const exportBlock = (emulator: ManagedIdentityEmulator.Emulator, kind: ManagedIdentityEmulator.SourceKind) => {
  const env = emulator.env(kind)
  const unset = ManagedIdentitySource.variables.filter((name) => !(name in env))
  return [
    `# ${titles[kind]}`,
    ...(kind === "AzureArc"
      ? [
        `# key files are written to ${emulator.arcKeyDirectory}: pass --arc-key-directory ${
          shellQuote(emulator.arcKeyDirectory)
        } to managed-identity token`
      ]
      : []),
    ...(unset.length === 0 ? [] : [`unset ${unset.join(" ")}`]),
    ...Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}`)
  ].join("\n")
}

const emulator = Command.make(
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
        Effect.mapError(ManagedIdentityEmulator.decodeFaultScripts(text), (error) => invalid(error.message))
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
    json
  },
  (flags) =>
    Effect.gen(function*() {
      if (flags.all && Option.isSome(flags.source)) {
        return yield* Effect.fail(new UsageError("choose --source or --all, not both"))
      }
      const kinds = flags.all
        ? ManagedIdentityEmulator.SourceKind.literals
        : [Option.getOrElse(flags.source, () => "Imds" as const)]
      const running = yield* ManagedIdentityEmulator.start({
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
            env: Object.fromEntries(kinds.map((kind) => [kind, running.env(kind)]))
          })
          : [
            `# managed-identity emulator on ${running.baseUrl}, Service Fabric on ${running.serviceFabricUrl}\n` +
            "# the secrets below are the emulator's own, random per start; Ctrl-C stops it",
            ...kinds.map((kind) => exportBlock(running, kind))
          ].join("\n\n")
      )
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Run the emulator on 127.0.0.1 until interrupted and print the `export` lines that point a process at it " +
      "(with --json: the same variables by source). The secrets printed (IDENTITY_HEADER, MSI_SECRET) are the " +
      "emulator's own test secrets, random per start, and the Service Fabric thumbprint is that of its " +
      "self-signed certificate."
  )
)

const demo = Command.make("demo", { json }, (flags) => Demo.run(flags)).pipe(
  Command.withDescription(
    "Start the emulator and get a token through every source, showing cache, single flight, retry, claims and the " +
      "file cache (with --json: the rows as JSON)"
  )
)

/** The `managed-identity` command with its subcommands. */
export const command = Command.make("managed-identity").pipe(
  Command.withDescription("Azure managed identity tokens from any Azure host, and an emulator to run off Azure"),
  Command.withSubcommands([token, source, emulator, demo])
)

const describe = (error: unknown): string =>
  isManagedIdentityError(error)
    ? `${error._tag}: ${error.message}`
    : error instanceof UsageError
    ? `usage: ${error.message}`
    : ConfigError.isConfigError(error)
    ? `ConfigError: ${String(error)}`
    : typeof error === "object" && error !== null && "_tag" in error
    ? `${String(error._tag)}: ${String((error as { message?: unknown }).message ?? "")}`
    : String(error)

/**
 * Runs the CLI on `argv` and sets the process exit code: 0 success, 1 token error (its tag and message on
 * stderr), 2 usage error.
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<void, never, CliApp.CliApp.Environment> =>
  Command.run(command, { name: "managed-identity", version: "0.1.0" })(argv).pipe(
    Effect.catchAll((error) =>
      Effect.flatMap(
        ValidationError.isValidationError(error)
          ? Effect.void
          : Console.error(describe(error)),
        () =>
          Effect.sync(() => {
            process.exitCode = ValidationError.isValidationError(error) || error instanceof UsageError ? 2 : 1
          })
      )
    ),
    Effect.catchAllDefect((defect) =>
      Effect.flatMap(Console.error(`unexpected error: ${describe(defect)}`), () =>
        Effect.sync(() => {
          process.exitCode = 1
        }))
    )
  )
