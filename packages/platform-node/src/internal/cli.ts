import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as CliApp from "@effect/cli/CliApp"
import * as ManagedIdentity from "@managed-identity/core/ManagedIdentity"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import { isManagedIdentityError, type ManagedIdentityError } from "@managed-identity/core/ManagedIdentityError"
import * as ManagedIdentitySource from "@managed-identity/core/ManagedIdentitySource"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as NodeManagedIdentity from "../NodeManagedIdentity.js"
import * as Demo from "./demo.js"

/** A usage error found after parsing (conflicting flags); exits 2 like the parser's own. */
class UsageError {
  readonly _tag = "UsageError"
  constructor(readonly message: string) {}
}

const json = Options.boolean("json").pipe(Options.withDescription("Print JSON instead of text"))

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

const identityFrom = (flags: IdentityFlags): Effect.Effect<ManagedIdentity.Identity, UsageError | ManagedIdentityError> => {
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

const token = Command.make(
  "token",
  {
    resource: Options.text("resource").pipe(Options.withDescription("The resource, e.g. https://vault.azure.net")),
    claims: Options.text("claims").pipe(Options.withDescription("A claims challenge (JSON)"), Options.optional),
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
              expiresOn: accessToken.expiresOn.toJSON(),
              resource: accessToken.resource,
              source: accessToken.source
            })
            : Redacted.value(accessToken.token)
        )
      }).pipe(
        Effect.provide(NodeManagedIdentity.layerWithoutIdentity.pipe(Layer.provide(ManagedIdentity.layer(identity))))
      ))
).pipe(Command.withDescription("Get an access token for a resource from the detected managed identity source"))

const source = Command.make("source", { json }, (flags) =>
  Effect.gen(function*() {
    const detection = yield* ManagedIdentitySource.detect.pipe(Effect.provide(NodeManagedIdentity.layerPlatform))
    yield* Console.log(
      flags.json
        ? JSON.stringify(detection)
        : [detection.kind, ...detection.reasons.map((reason) => `  ${reason}`)].join("\n")
    )
  })).pipe(Command.withDescription("Show the detected managed identity source and why it was chosen"))

const demo = Command.make("demo", {}, () => Demo.run).pipe(
  Command.withDescription("Start the emulator and get a token through every source, showing cache, single flight and retry")
)

/** The `managed-identity` command with its subcommands. */
export const command = Command.make("managed-identity").pipe(
  Command.withDescription("Azure managed identity tokens from any Azure host, and an emulator to run off Azure"),
  Command.withSubcommands([token, source, demo])
)

const describe = (error: unknown): string =>
  isManagedIdentityError(error)
    ? `${error._tag}: ${error.message}`
    : error instanceof UsageError
    ? `usage: ${error.message}`
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
