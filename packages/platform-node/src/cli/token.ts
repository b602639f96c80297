/**
 * `managed-identity token` and `managed-identity source`: a token from the detected source, and the detection.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ImdsTokenSource from "@managed-identity/core/ImdsTokenSource"
import * as ManagedIdentity from "@managed-identity/core/ManagedIdentity"
import * as ManagedIdentityClient from "@managed-identity/core/ManagedIdentityClient"
import { printable } from "@managed-identity/core/ManagedIdentityError"
import * as ManagedIdentitySource from "@managed-identity/core/ManagedIdentitySource"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as NodeManagedIdentity from "../NodeManagedIdentity.js"
import { arcKeyDirectory, identityBindings, json, optionalText, UsageError } from "./flags.js"

/**
 * `--client-id`, `--resource-id`, `--object-id` and `--identity-json`: the identity to ask for.
 *
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
 * @category flags
 */
export const clientArcKeyDirectory = arcKeyDirectory.pipe(
  Options.withDescription(
    "Where Azure Arc key files are (default: the agent's directory); `managed-identity emulator` prints its own"
  )
)

/**
 * `--identity-bindings` for the commands that get a token.
 *
 * @category flags
 */
export const clientIdentityBindings = identityBindings.pipe(
  Options.withDescription(
    "For AKS workload identity, send the exchange to the identity-binding token proxy " +
      "(AZURE_KUBERNETES_TOKEN_PROXY, AZURE_KUBERNETES_SNI_NAME, AZURE_KUBERNETES_CA_FILE or _CA_DATA)"
  )
)

/**
 * The identity flags as parsed.
 *
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

/**
 * `--federated`, `--federated-client-id`, `--federated-tenant-id` and `--federated-audience`: the managed identity as a
 * federated credential of an application.
 *
 * @category flags
 */
export const federatedOptions = {
  federated: Options.boolean("federated").pipe(
    Options.withDescription(
      "Use the managed identity as a federated credential of the application that MANAGED_IDENTITY_FEDERATED_CLIENT_ID " +
        "and MANAGED_IDENTITY_FEDERATED_TENANT_ID (or the flags below) name: the token is the application's"
    )
  ),
  federatedClientId: optionalText(
    "federated-client-id",
    "The application (client) id that trusts the managed identity (implies --federated)"
  ),
  federatedTenantId: optionalText("federated-tenant-id", "The application's tenant (implies --federated)"),
  federatedAudience: optionalText(
    "federated-audience",
    "The audience of the managed identity's token (default api://AzureADTokenExchange; sovereign clouds: " +
      "api://AzureADTokenExchangeUSGov, api://AzureADTokenExchangeChina)"
  )
}

/**
 * The federated credential flags as parsed.
 *
 * @category flags
 */
export type FederatedFlags =
  & { readonly federated: boolean }
  & {
    readonly [K in Exclude<keyof typeof federatedOptions, "federated">]: Option.Option<string>
  }

/**
 * Whether the flags ask for the federated flow, and the variables they set (over the environment's): `None` when they
 * do not.
 *
 * @category flags
 */
export const federatedFrom = (flags: FederatedFlags): Option.Option<ReadonlyMap<string, string>> => {
  const set = [
    ["MANAGED_IDENTITY_FEDERATED_CLIENT_ID", flags.federatedClientId],
    ["MANAGED_IDENTITY_FEDERATED_TENANT_ID", flags.federatedTenantId],
    ["MANAGED_IDENTITY_FEDERATED_AUDIENCE", flags.federatedAudience]
  ] as const
  const given = new Map(set.flatMap(([name, value]) => Option.toArray(Option.map(value, (v) => [name, v] as const))))
  return flags.federated || given.size > 0 ? Option.some(given) : Option.none()
}

/**
 * Runs `effect` with the variables the federated flags set read before the environment's.
 *
 * @category flags
 */
export const withFederatedVariables =
  (variables: ReadonlyMap<string, string>) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.configProviderWith((current) =>
      Effect.withConfigProvider(
        effect,
        ConfigProvider.orElse(ConfigProvider.fromMap(new Map(variables)), () => current)
      )
    )

const clientLayer = (
  identity: ManagedIdentity.Identity,
  azureArcKeyDirectory: Option.Option<string>,
  bindings: boolean,
  verifyIdentity: boolean,
  federated: boolean
) =>
  NodeManagedIdentity.layerWithOptions({
    source: { azureArcKeyDirectory: Option.getOrUndefined(azureArcKeyDirectory), identityBindings: bindings },
    client: { verifyIdentity },
    federatedCredential: federated ? "config" : undefined
  }).pipe(Layer.provide(ManagedIdentity.layer(identity)))

/** `--verify-identity`: the client's `verifyIdentity`. */
const verifyIdentity = Options.boolean("verify-identity").pipe(
  Options.withDescription(
    "Check that the token names the identity asked for (doctor's rules, claims read without verifying the " +
      "signature); another identity's token is an IdentityMismatch (exit 1) and is not printed"
  )
)

/**
 * `managed-identity token --resource <uri> [identity flags] [--claims <json>] [--identity-bindings]
 * [--verify-identity] [federated flags] [--json]`.
 *
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
    identityBindings: clientIdentityBindings,
    verifyIdentity,
    json,
    ...identityOptions,
    ...federatedOptions
  },
  (flags) =>
    Effect.flatMap(identityFrom(flags), (identity) => {
      const federated = federatedFrom(flags)
      return Effect.gen(function*() {
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
      }).pipe(
        Effect.provide(
          clientLayer(
            identity,
            flags.arcKeyDirectory,
            flags.identityBindings,
            flags.verifyIdentity,
            Option.isSome(federated)
          )
        ),
        withFederatedVariables(Option.getOrElse(federated, () => new Map()))
      )
    })
).pipe(
  Command.withDescription(
    "Get an access token for a resource from the detected managed identity source and print it (with --json: " +
      "accessToken, tokenType, expiresOn, resource, source); with --federated, the token of the application that " +
      "trusts the managed identity. Exit codes: 0 success, 1 token error (`<ErrorTag>: <message>` on stderr), 2 " +
      "usage error."
  )
)

/** IMDS's answer to the probe, or why it gave none. */
const probeImds = Effect.match(ImdsTokenSource.probeConfig(), {
  onFailure: (error) => ({
    text: `IMDS probe: ${error._tag}: ${error.message}`,
    json: { answered: false, error: error._tag, message: error.message }
  }),
  onSuccess: (status) => ({
    text: `IMDS probe: answered ${status} within ${
      Duration.format(ImdsTokenSource.defaultProbeTimeout)
    } to a request for no token: IMDS is there`,
    json: { answered: true, status }
  })
})

/**
 * `managed-identity source [identity flags] [--json]`: the detection, and when IMDS is the fallback, its probe.
 *
 * @category commands
 */
export const source = Command.make("source", { json, ...identityOptions }, (flags) =>
  Effect.gen(function*() {
    const identity = yield* identityFrom(flags)
    const detection = yield* ManagedIdentitySource.detect.pipe(
      Effect.provideService(ManagedIdentity.ManagedIdentity, identity)
    )
    const probe = detection.kind === "Imds" ? Option.some(yield* probeImds) : Option.none()
    yield* Console.log(
      flags.json
        ? JSON.stringify({
          ...detection,
          ...Option.match(probe, { onNone: () => ({}), onSome: ({ json }) => ({ probe: json }) })
        })
        : [detection.kind, ...detection.reasons, ...Option.toArray(Option.map(probe, ({ text }) => text))]
          .map((line, index) => index === 0 ? line : `  ${printable(line)}`)
          .join("\n")
    )
  }).pipe(Effect.provide(NodeManagedIdentity.layerPlatform))).pipe(
    Command.withDescription(
      "Show the detected managed identity source and why it was chosen (variable names and files checked, never " +
        "values); when IMDS is the fallback, probe it (1 s) and say whether it answered. A client id flag counts " +
        "for AKS workload identity as AZURE_CLIENT_ID does."
    )
  )
