/**
 * Explains a host: which source is detected and why, what the variables point at, one timed request, the identity and
 * issue time the token names, and the cache, as a report of findings with stable codes (`managed-identity doctor`
 * prints it). The report never holds a token or a secret.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as FederatedCredentialTokenSource from "./FederatedCredentialTokenSource.js"
import * as Detect from "./internal/detection/detect.js"
import * as Diagnose from "./internal/diagnosis/diagnose.js"
import * as Model from "./internal/diagnosis/model.js"
import type * as Layers from "./internal/source/layers.js"
import * as ManagedIdentityClient from "./ManagedIdentityClient.js"
import type * as TokenCache from "./TokenCache.js"
import type * as TokenSource from "./TokenSource.js"

/**
 * The report of {@link diagnose}, a schema so that it encodes to JSON (`Schema.encodeSync(Diagnosis)(report)`):
 *
 * - `resource`, and `identity`: the requested identity
 * - `detection`: the detected source and why, as `ManagedIdentitySource.detect` says
 * - `sources`: the detected source's variables and those of every other source whose variables are all set, each
 *   with what it points at (a URL's scheme, host, port and path; a secret only as set)
 * - `reachability`: the timed request to the detected source (endpoint, whether it was IMDS's probe, budget,
 *   milliseconds, a token or the error tag, status and message); `null` when the source could not be built
 * - `token`: where the token came from (`identity_provider` or `cache`), its type, resource, expiry and claims
 *   (`oid`, `appid`, `azp`, `tid`, `xms_mirid`, `aud`, `iat`, `exp`; `null` when the token is not a JWT), never the
 *   token itself; `null` when there is none
 * - `identityCheck`: the verdict (`match`, `mismatch`, `unconfirmed`, `unchecked`), both identities in words and the
 *   known cause of a mismatch
 * - `clock`: the token's `iat` against the local clock
 * - `cache`: the configured cache's description and, for a file cache, its permissions
 * - `findings`: `{ level: "ok" | "warning" | "error", code, message }` with a stable code ({@link FindingCode}) and
 *   a one-line message that names no secret
 * - `elapsedMillis`: how long the diagnosis took
 *
 * @since 0.1.0
 * @category schemas
 */
export const Diagnosis: typeof Model.Diagnosis = Model.Diagnosis

/**
 * @since 0.1.0
 * @category models
 */
export type Diagnosis = Model.Diagnosis

/**
 * The codes of findings, stable so that a tool can act on them:
 *
 * | code | level | meaning |
 * | --- | --- | --- |
 * | `source.detected` | ok | the detected source and the rule that chose it |
 * | `source.reachable` | ok | the source answered the timed request with a token |
 * | `source.unavailable` | error | no answer within the budget, or nothing listening: most likely not that host |
 * | `source.failed` | error | the source answered, but with an error or something that is not a token |
 * | `source.misconfigured` | error | the configuration was refused before anything was sent |
 * | `token.received` | ok | where the token came from and when it expires |
 * | `token.not-jwt` | warning | the token is not JWT-shaped: identity and issue time cannot be read |
 * | `identity.match` | ok | the token names the requested identity |
 * | `identity.mismatch` | error | the token names another identity (both named, and the known cause) |
 * | `identity.unconfirmed` | warning | the token lacks the claim that would confirm the identity |
 * | `identity.default` | warning | Azure ML answered a system-assigned request with its default identity |
 * | `clock.ok` | ok | the token's `iat` is within 5 minutes of the local clock |
 * | `clock.skew` | warning | the token's `iat` is more than 5 minutes off the local clock |
 * | `cache.memory` | ok | an in-memory cache |
 * | `cache.key-value-store` | ok | a persistent cache through a `KeyValueStore` |
 * | `cache.directory` | ok | a file cache whose directory and files only this user can access |
 * | `cache.permissions` | error | a file cache whose directory or files group or others can access |
 * | `cache.unchecked` | warning | a file cache whose permissions could not be read |
 * | `cache.custom` | ok | a cache that does not describe itself |
 *
 * @since 0.1.0
 * @category schemas
 */
export const FindingCode: typeof Model.FindingCode = Model.FindingCode

/**
 * @since 0.1.0
 * @category models
 */
export type FindingCode = Model.FindingCode

/**
 * The resource {@link diagnose} asks a token for unless told otherwise.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultResource = "https://management.azure.com/"

/**
 * How long {@link diagnose}'s request to the source may take unless told otherwise.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBudget: Duration.Duration = Duration.seconds(2)

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The resource to get a token for (default `https://management.azure.com/`). */
  readonly resource?: string | undefined
  /** How long the one request to the source may take (default 2 s). */
  readonly budget?: Duration.Input | undefined
  /** Where Azure Arc key files are, when Azure Arc is detected (default: the agent's directory for the platform). */
  readonly azureArcKeyDirectory?: string | undefined
  /** When workload identity is detected, send the exchange to the identity-binding token proxy (default `false`). */
  readonly identityBindings?: boolean | undefined
  /**
   * Diagnose the managed identity as a federated credential of this application: hop 1 (the request above, and the
   * identity and clock checks) asks for the application's token-exchange audience, hop 2 exchanges that token for the
   * application's token for `resource`, one attempt within the budget, and adds one `federated.*` finding.
   */
  readonly federatedCredential?:
    | Omit<FederatedCredentialTokenSource.Options, keyof TokenSource.TimingOptions>
    | undefined
}

/**
 * What {@link diagnose} needs: what the detected source may need, the host's platform
 * (`ManagedIdentitySource.HostPlatform`), and the cache to diagnose.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements = Layers.Requirements | Detect.HostPlatform | TokenCache.TokenCache

/**
 * Explains this host: which source is detected and why, what every present source's variables point at (never a
 * secret), one request to the detected source timed within a budget, the token for a resource (where it came from,
 * its expiry, the identity and issue time its claims name, read without verifying it), whether that identity is the
 * requested one (with the known cause when it is not), whether its `iat` agrees with the local clock, and which cache
 * is configured (for a file cache, whether its directory and files are private). Every part ends in findings with
 * stable codes ({@link FindingCode}). The report never holds a token or a secret.
 *
 * The request goes through a client built like the app's, over the `TokenCache` in context and the detected source
 * with one attempt and no retries, bounded by the budget (default 2 s); for IMDS that attempt is its probe, whose
 * timeout is the budget. A cached token is served from the cache, and then the source gets one request of its own so
 * that reachability is still measured. Nothing here fails: a source that cannot be reached, an error answer, a token
 * that is not a JWT are findings. The identity is the `ManagedIdentity` in context (on workload identity a
 * system-assigned identity is checked as `AZURE_CLIENT_ID`'s client id); the cache describes itself
 * (`TokenCache.Service.description`).
 *
 * @example
 * ```ts
 * import { ManagedIdentity, ManagedIdentityDiagnosis, TokenCache } from "@managed-identity/effect4"
 * import { Effect, Schema } from "effect"
 *
 * // the report as JSON; the platform's services (`NodeManagedIdentity.layerPlatform` on Node) are still to provide
 * const report = ManagedIdentityDiagnosis.diagnose({ resource: "https://vault.azure.net" }).pipe(
 *   Effect.map(Schema.encodeSync(ManagedIdentityDiagnosis.Diagnosis)),
 *   Effect.provide(TokenCache.layerMemory),
 *   Effect.provide(ManagedIdentity.layerSystemAssigned)
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const diagnose = (
  options: Options = {}
): Effect.Effect<Diagnosis, Config.ConfigError, Requirements> =>
  Effect.flatMap(Detect.HostPlatform, (platform) =>
    Diagnose.diagnose(
      {
        ...options,
        resource: options.resource ?? defaultResource,
        budget: options.budget ?? defaultBudget
      },
      platform,
      ManagedIdentityClient.make()
    ))
