/**
 * `managed-identity token` and `managed-identity source`: a token from the detected source, and the detection.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ManagedIdentity from "@managed-identity/core/ManagedIdentity"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import * as ManagedIdentitySource from "@managed-identity/core/ManagedIdentitySource"
import * as TokenCache from "@managed-identity/core/TokenCache"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as NodeManagedIdentity from "../NodeManagedIdentity.js"
import { arcKeyDirectory, json, optionalText, UsageError } from "./flags.js"

/**
 * `--client-id`, `--resource-id`, `--object-id` and `--identity-json`: the identity to ask for.
 *
 * @since 0.1.0
 * @category flags
 */
export const identityOptions = {
  clientId: optionalText("client-id", "User-assigned identity by client id"),
  resourceId: optionalText("resource-id", "User-assigned identity by Azure resource id"),
  objectId: optionalText("object-id", "User-assigned identity by object id"),
  identityJson: optionalText(
    "identity-json",
    "MSAL's identity JSON, e.g. '{\"ManagedIdentityIdType\":\"ClientId\",\"Id\":\"…\"}'"
  )
}

/**
 * `--arc-key-directory <directory>` for the commands that get a token.
 *
 * @since 0.1.0
 * @category flags
 */
export const clientArcKeyDirectory = arcKeyDirectory.pipe(
  Options.withDescription(
    "Where Azure Arc key files are (default: the agent's directory); `managed-identity emulator` prints its own"
  )
)

/**
 * The identity flags as parsed.
 *
 * @since 0.1.0
 * @category flags
 */
export type IdentityFlags = { readonly [K in keyof typeof identityOptions]: Option.Option<string> }

/** An id given on the command line, without surrounding blanks; a blank one is a usage error, not an identity. */
const selector = (flag: string, make: (id: string) => ManagedIdentity.Identity) => (id: string) =>
  id.trim() === ""
    ? Effect.fail(new UsageError(`--${flag} needs an id; it is empty`))
    : Effect.succeed(make(id.trim()))

/**
 * The identity the flags select: at most one of them (else a usage error), system-assigned when none.
 *
 * @since 0.1.0
 * @category flags
 */
export const identityFrom = (flags: IdentityFlags): Effect.Effect<ManagedIdentity.Identity, UsageError> => {
  const given = [
    Option.map(flags.clientId, selector("client-id", ManagedIdentity.clientId)),
    Option.map(flags.resourceId, selector("resource-id", ManagedIdentity.resourceId)),
    Option.map(flags.objectId, selector("object-id", ManagedIdentity.objectId)),
    Option.map(
      flags.identityJson,
      (json) =>
        Effect.mapError(
          ManagedIdentity.fromMsalJson(json),
          (error) => new UsageError(`--identity-json: ${error.reason}`)
        )
    )
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

/**
 * `managed-identity token --resource <uri> [identity flags] [--claims <json>] [--json]`.
 *
 * @since 0.1.0
 * @category commands
 */
export const token = Command.make(
  "token",
  {
    resource: Options.text("resource").pipe(
      Options.withPseudoName("uri"),
      Options.withDescription("The resource, e.g. https://vault.azure.net")
    ),
    claims: optionalText("claims", "A claims challenge (JSON)"),
    arcKeyDirectory: clientArcKeyDirectory,
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

/**
 * `managed-identity source [--json]`.
 *
 * @since 0.1.0
 * @category commands
 */
export const source = Command.make("source", { json }, (flags) =>
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
