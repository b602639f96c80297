/**
 * The identity to get tokens for: system-assigned, or user-assigned by client id, resource id or object id.
 *
 * @since 0.1.0
 */
import * as Identities from "@managed-identity/protocol/Identity"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as SchemaIssue from "effect/SchemaIssue"
import { InvalidIdentity } from "./ManagedIdentityError.js"

const NonEmptyId = Schema.Trimmed.check(Schema.isNonEmpty({ message: "the identity id must not be empty" }))

/**
 * The host's system-assigned identity.
 *
 * @since 0.1.0
 * @category models
 */
export class SystemAssigned extends Schema.TaggedClass<SystemAssigned>()("SystemAssigned", {}) {}

/**
 * A user-assigned identity selected by its client (application) id.
 *
 * @since 0.1.0
 * @category models
 */
export class ClientId extends Schema.TaggedClass<ClientId>()("ClientId", { id: NonEmptyId }) {}

/**
 * A user-assigned identity selected by its Azure resource id.
 *
 * @since 0.1.0
 * @category models
 */
export class ResourceId extends Schema.TaggedClass<ResourceId>()("ResourceId", { id: NonEmptyId }) {}

/**
 * A user-assigned identity selected by its object (principal) id.
 *
 * @since 0.1.0
 * @category models
 */
export class ObjectId extends Schema.TaggedClass<ObjectId>()("ObjectId", { id: NonEmptyId }) {}

/**
 * @since 0.1.0
 * @category schemas
 */
export const UserAssigned = Schema.Union([ClientId, ResourceId, ObjectId])

/**
 * @since 0.1.0
 * @category models
 */
export type UserAssigned = typeof UserAssigned.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const Identity = Schema.Union([SystemAssigned, ClientId, ResourceId, ObjectId])

/**
 * @since 0.1.0
 * @category models
 */
export type Identity = typeof Identity.Type

/**
 * @since 0.1.0
 * @category constructors
 */
export const systemAssigned: Identity = new SystemAssigned({})

/**
 * A user-assigned identity by client id. The id must be non-empty without surrounding blanks (the constructor
 * throws otherwise, as every `Schema` class does); for ids from the environment use {@link userAssignedConfig}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const clientId = (id: string): Identity => new ClientId({ id })

/**
 * A user-assigned identity by Azure resource id (same rules as {@link clientId}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const resourceId = (id: string): Identity => new ResourceId({ id })

/**
 * A user-assigned identity by object (principal) id (same rules as {@link clientId}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const objectId = (id: string): Identity => new ObjectId({ id })

/**
 * A user-assigned identity whose id is read through `Config` from the variable `name`, trimmed. A blank value is a
 * `ConfigError` naming the variable, never a crash.
 *
 * @example
 * ```ts
 * import { ManagedIdentity } from "@managed-identity/effect4"
 *
 * const identity = ManagedIdentity.layerConfig(ManagedIdentity.userAssignedConfig("ClientId", "AZURE_CLIENT_ID"))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const userAssignedConfig = (
  selector: UserAssigned["_tag"],
  name: string
): Config.Config<Identity> =>
  Config.String(name).pipe(Config.mapEffect((value) => {
    const id = value.trim()
    return id === ""
      ? Effect.fail(
        new Config.ConfigError(new ConfigProvider.SourceError({ message: `${name} must hold a non-empty ${selector}` }))
      )
      : Effect.succeed({ ClientId: clientId, ResourceId: resourceId, ObjectId: objectId }[selector](id))
  }))

/**
 * A stable text form of an identity, used in cache keys and messages (ids are not secrets).
 *
 * @since 0.1.0
 * @category models
 */
export const toKey: (identity: Identity) => string = Identities.toKey

/**
 * An identity in words, for messages: `the system-assigned identity`, `client id …`, `resource id …`, `object id …`.
 *
 * @since 0.1.0
 * @category models
 */
export const describe: (identity: Identity) => string = Identities.describe

/** An identity as the protocol reads it, as this module's class. */
const fromPlain = (identity: Identities.Identity): Identity =>
  identity._tag === "SystemAssigned" ?
    systemAssigned :
    { ClientId: clientId, ResourceId: resourceId, ObjectId: objectId }[
      identity._tag
    ](identity.id)

/** MSAL's JSON text as an identity, or the reason it is not one (never the value received). */
const readMsalJson = (json: string): Identities.Identity | string => {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return "the text is not valid JSON"
  }
  const read = Identities.fromMsal(parsed)
  return read._tag === "Ok" ? read.value : read.error
}

/**
 * MSAL's JSON form of an identity, `{"ManagedIdentityIdType": "SystemAssigned" | "ClientId" | "ResourceId" |
 * "ObjectId", "Id": …}`, decoded from a JSON string. Unknown keys, unknown types, a user-assigned type with an
 * empty or missing `Id`, and a system-assigned type with an `Id` are rejected.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FromMsalJson: Schema.Codec<Identity, string> = Schema.String.pipe(
  Schema.decodeTo(Schema.toType(Identity), {
    decode: SchemaGetter.transformEffect((json: string) => {
      const read = readMsalJson(json)
      return typeof read === "string"
        ? Effect.fail(new SchemaIssue.InvalidValue({ message: `${Identities.msalExpected}: ${read}` }))
        : Effect.succeed(fromPlain(read))
    }),
    encode: SchemaGetter.transform((identity: Identity) => JSON.stringify(Identities.toMsal(identity)))
  })
)

/**
 * Decodes MSAL's JSON form of an identity, failing with `InvalidIdentity` and a message that says what is wrong:
 * which field, and what it expected, never the value it got. Any string is safe to pass, however deeply nested.
 * `origin`, where the text came from (`"MY_VAR: "`), starts the reason.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromMsalJson = (json: string, origin = ""): Effect.Effect<Identity, InvalidIdentity> => {
  const read = readMsalJson(json)
  return typeof read === "string"
    ? Effect.fail(new InvalidIdentity({ source: "Detection", reason: `${origin}${Identities.msalExpected}: ${read}` }))
    : Effect.succeed(fromPlain(read))
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ManagedIdentity
  extends Context.Service<ManagedIdentity, Identity>()("@managed-identity/effect4/ManagedIdentity")
{}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (identity: Identity): Layer.Layer<ManagedIdentity> => Layer.succeed(ManagedIdentity, identity)

/**
 * The host's system-assigned identity.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSystemAssigned: Layer.Layer<ManagedIdentity> = layer(systemAssigned)

/**
 * The identity from any `Config`, e.g. `ManagedIdentity.userAssignedConfig("ClientId", "AZURE_CLIENT_ID")`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (config: Config.Config<Identity>): Layer.Layer<ManagedIdentity, Config.ConfigError> =>
  Layer.effect(ManagedIdentity, config)

/**
 * The identity from MSAL's JSON form held in an environment variable (read through `Config`). An unset or empty
 * variable means the system-assigned identity, so one deployment artefact runs on hosts with and without a
 * user-assigned identity; anything else that does not decode is an `InvalidIdentity` starting with the variable.
 *
 * @example
 * ```ts
 * import { ManagedIdentity } from "@managed-identity/effect4"
 * import { ConfigProvider, Effect } from "effect"
 *
 * // MY_MANAGED_IDENTITY_CONFIG='{"ManagedIdentityIdType":"ClientId","Id":"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}'
 * const identity = ManagedIdentity.ManagedIdentity.pipe(
 *   Effect.provide(ManagedIdentity.layerFromJson("MY_MANAGED_IDENTITY_CONFIG")),
 *   Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({
 *     env: { MY_MANAGED_IDENTITY_CONFIG: `{"ManagedIdentityIdType":"ClientId","Id":"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}` }
 *   })))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromJson = (
  envVarName: string
): Layer.Layer<ManagedIdentity, Config.ConfigError | InvalidIdentity> =>
  Layer.effect(
    ManagedIdentity,
    Effect.flatMap(
      Config.option(Config.String(envVarName)),
      (json) =>
        Option.isNone(json) || json.value.trim() === ""
          ? Effect.succeed(systemAssigned)
          : fromMsalJson(json.value, `${envVarName}: `)
    )
  )
