/**
 * The workload identity STS's documents besides tokens: the OpenID configuration the Azure SDKs (msal-node under
 * @azure/identity) fetch before every token request, the keys a service checks the emulator's tokens with, and a
 * `404` for anything the emulator does not serve.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Incoming } from "./endpoint.js"
import * as EmulatorIdentity from "./identity.js"
import { aadsts, entraError, type Reply, reply } from "./replies.js"
import type * as EmulatorSigning from "./signing.js"

/** A discovery document's path (below the token proxy's path too), the tenant its first group. */
const discoveryPath = /\/([^/]+)\/(?:(?:v2\.0\/)?\.well-known\/openid-configuration|discovery\/(?:v2\.0\/)?keys)$/

/** A document of the emulator's tenant (any other: Entra's `AADSTS90002`, tenant not found). */
const ofTenant = (incoming: Incoming, document: (tenant: string) => unknown): Effect.Effect<Reply> =>
  Effect.map(Clock.currentTimeMillis, (at) => {
    const [, tenant = ""] = discoveryPath.exec(incoming.path) ?? []
    return tenant.toLowerCase() === EmulatorIdentity.tenantId ? reply(200, document(tenant)) : aadsts(90002, at)
  })

/**
 * `GET /{tenant}/v2.0/.well-known/openid-configuration` (or the v1 document without `/v2.0`): Entra's OpenID
 * configuration for the tenant, every endpoint on the STS at `authority` — also when the token proxy serves it, as a
 * proxy in front of Entra passes Entra's document on.
 *
 * @internal
 */
export const openIdConfiguration = (
  incoming: Incoming,
  version: "v1" | "v2.0",
  authority: string
): Effect.Effect<Reply> =>
  ofTenant(incoming, (tenant) => {
    const base = `${authority}/${tenant}`
    const oauth = version === "v2.0" ? `${base}/oauth2/v2.0` : `${base}/oauth2`
    return {
      token_endpoint: `${oauth}/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${base}/discovery/${version === "v2.0" ? "v2.0/" : ""}keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: version === "v2.0" ? `${base}/v2.0` : EmulatorIdentity.issuer,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${oauth}/authorize`,
      device_authorization_endpoint: `${oauth}/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${oauth}/logout`,
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid"],
      tenant_region_scope: "EU",
      cloud_instance_name: "emulator.invalid"
    }
  })

/**
 * `GET /{tenant}/discovery/keys` (and `/{tenant}/discovery/v2.0/keys`): the JWKS of the key that signs every access
 * token the emulator issues, as Entra publishes its keys.
 *
 * @internal
 */
export const keys = (incoming: Incoming, key: EmulatorSigning.SigningKey): Effect.Effect<Reply> =>
  ofTenant(incoming, () => ({ keys: [key.publicJwk] }))

/**
 * Anything else: `404` with an Entra error body.
 *
 * @internal
 */
export const notFound = (incoming: Incoming): Effect.Effect<Reply> =>
  Effect.map(
    Clock.currentTimeMillis,
    (at) => entraError(404, "invalid_request", 90019, `The emulator serves no ${incoming.method} ${incoming.path}.`, at)
  )
