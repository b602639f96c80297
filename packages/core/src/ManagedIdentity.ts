/**
 * The identity to get tokens for: system-assigned, or user-assigned by client id, resource id or object id.
 *
 * @since 0.1.0
 */
import * as Identities from "@managed-identity/protocol/Identity"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Issues from "./internal/issues.js"
import * as Lazy from "./internal/lazy.js"
import { InvalidIdentity } from "./ManagedIdentityError.js"

const NonEmptyId = Schema.Trim.pipe(Schema.nonEmptyString({ message: () => "the identity id must not be empty" }))

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
export const UserAssigned = Schema.Union(ClientId, ResourceId, ObjectId)

/**
 * @since 0.1.0
 * @category models
 */
export type UserAssigned = typeof UserAssigned.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const Identity = Schema.Union(SystemAssigned, ClientId, ResourceId, ObjectId)

/**
 * @since 0.1.0
 * @category models
 */
export type Identity = typeof Identity.Type

/**
 * @since 0.1.0
 * @category constructors
 */
export const systemAssigned: Identity = new SystemAssigned({}, true)

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
 * import { ManagedIdentity } from "@managed-identity/core"
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
  Config.mapOrFail(Config.string(name), (value) => {
    const id = value.trim()
    if (id === "") return Either.left(ConfigError.InvalidData([], `${name} must hold a non-empty ${selector}`))
    return Either.right({ ClientId: clientId, ResourceId: resourceId, ObjectId: objectId }[selector](id))
  })

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

const MsalJson = Schema.Struct({
  ManagedIdentityIdType: Schema.Literal("SystemAssigned", "ClientId", "ResourceId", "ObjectId"),
  Id: Schema.optional(Schema.NullOr(Schema.String))
}).annotations({ description: "a JSON object", parseOptions: { onExcessProperty: "error" } })

/** MSAL's identity object, already parsed from JSON, as an `Identity`. */
const FromMsalObject = Schema.transformOrFail(MsalJson, Schema.typeSchema(Identity), {
  strict: true,
  decode: (json, _, ast) => {
    const id = json.Id?.trim() ?? ""
    if (json.ManagedIdentityIdType === "SystemAssigned") {
      return id === ""
        ? ParseResult.succeed(systemAssigned)
        : ParseResult.fail(Issues.fail(ast, json, "a system-assigned identity takes no Id"))
    }
    if (id === "") {
      return ParseResult.fail(Issues.fail(ast, json, `a ${json.ManagedIdentityIdType} identity needs a non-empty Id`))
    }
    switch (json.ManagedIdentityIdType) {
      case "ClientId":
        return ParseResult.succeed(clientId(id))
      case "ResourceId":
        return ParseResult.succeed(resourceId(id))
      case "ObjectId":
        return ParseResult.succeed(objectId(id))
    }
  },
  encode: (identity) =>
    ParseResult.succeed(
      identity._tag === "SystemAssigned"
        ? { ManagedIdentityIdType: "SystemAssigned" as const, Id: null }
        : { ManagedIdentityIdType: identity._tag, Id: identity.id }
    )
})

/**
 * MSAL's JSON form of an identity, `{"ManagedIdentityIdType": "SystemAssigned" | "ClientId" | "ResourceId" |
 * "ObjectId", "Id": …}`, decoded from a JSON string. Unknown keys, unknown types, a user-assigned type with an
 * empty or missing `Id`, and a system-assigned type with an `Id` are rejected.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FromMsalJson: Schema.Schema<Identity, string> = Schema.parseJson(FromMsalObject)

const expectedMsalJson =
  `expected MSAL's {"ManagedIdentityIdType": "SystemAssigned" | "ClientId" | "ResourceId" | "ObjectId", "Id": …}`

const decodeMsalObject = Lazy.lazy(() => Schema.decodeUnknownEither(FromMsalObject))

/**
 * Decodes MSAL's JSON form of an identity, failing with `InvalidIdentity` and a message that says what is wrong:
 * which field, and what it expected, never the value it got. Any string is safe to pass, however deeply nested.
 * `origin`, where the text came from (`"MY_VAR: "`), starts the reason.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromMsalJson = (json: string, origin = ""): Effect.Effect<Identity, InvalidIdentity> => {
  const invalid = (reason: string) =>
    Effect.fail(new InvalidIdentity({ source: "Detection", reason: `${origin}${expectedMsalJson}: ${reason}` }))
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return invalid("the text is not valid JSON")
  }
  return Either.match(decodeMsalObject()(parsed), {
    onLeft: (error) => invalid(Issues.describe(error.issue)),
    onRight: Effect.succeed
  })
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ManagedIdentity extends Context.Tag("@managed-identity/core/ManagedIdentity")<
  ManagedIdentity,
  Identity
>() {}

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
export const layerConfig = (config: Config.Config<Identity>): Layer.Layer<ManagedIdentity, ConfigError.ConfigError> =>
  Layer.effect(ManagedIdentity, config)

/**
 * The identity from MSAL's JSON form held in an environment variable (read through `Config`). An unset or empty
 * variable means the system-assigned identity, so one deployment artefact runs on hosts with and without a
 * user-assigned identity; anything else that does not decode is an `InvalidIdentity` starting with the variable.
 *
 * @example
 * ```ts
 * import { ManagedIdentity } from "@managed-identity/core"
 * import { ConfigProvider, Effect } from "effect"
 *
 * // MY_MANAGED_IDENTITY_CONFIG='{"ManagedIdentityIdType":"ClientId","Id":"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}'
 * const identity = ManagedIdentity.ManagedIdentity.pipe(
 *   Effect.provide(ManagedIdentity.layerFromJson("MY_MANAGED_IDENTITY_CONFIG")),
 *   Effect.withConfigProvider(ConfigProvider.fromMap(new Map([
 *     ["MY_MANAGED_IDENTITY_CONFIG", `{"ManagedIdentityIdType":"ClientId","Id":"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}`]
 *   ])))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromJson = (
  envVarName: string
): Layer.Layer<ManagedIdentity, ConfigError.ConfigError | InvalidIdentity> =>
  Layer.effect(
    ManagedIdentity,
    Effect.flatMap(
      Config.option(Config.string(envVarName)),
      (json) =>
        Option.isNone(json) || json.value.trim() === ""
          ? Effect.succeed(systemAssigned)
          : fromMsalJson(json.value, `${envVarName}: `)
    )
  )
