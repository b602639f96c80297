/**
 * Tokens from Service Fabric (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER` + `IDENTITY_SERVER_THUMBPRINT`), over https
 * trusted only through the SHA-1 thumbprint of the server certificate.
 *
 * The TLS pin is platform work, so this module states it as a service, {@link PinnedHttpClient}, which a platform
 * package provides (`@managed-identity/platform-node` does, with an undici agent).
 *
 * @since 0.1.0
 */
import * as ServiceFabric from "@managed-identity/protocol/sources/ServiceFabric"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Result from "effect/Result"
import * as SourceService from "./internal/http/sourceService.js"
import * as Results from "./internal/result.js"
import * as Environment from "./internal/source/environment.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import type { InvalidIdentity, ManagedIdentityError } from "./ManagedIdentityError.js"
import type * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion: string = ServiceFabric.apiVersion

/**
 * The retry policy Service Fabric uses unless a `retrySchedule` replaces it.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = SourceService.retryRules(ServiceFabric.facts).retryPolicy

/**
 * The failures Service Fabric retries (never 404); a `retrySchedule` never retries anything else.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable: (error: ManagedIdentityError) => boolean =
  SourceService.retryRules(ServiceFabric.facts).isRetryable

/**
 * An `HttpClient` per certificate thumbprint that trusts a server only if the SHA-1 of its certificate's DER
 * encoding equals the thumbprint (public-CA validation and hostname checks do not apply), never follows a
 * redirect, and writes a request only after the pin has been checked. A mismatch fails the request with a
 * transport error whose cause chain holds a `ServiceFabricCertificateMismatch`.
 *
 * @since 0.1.0
 * @category tags
 */
export class PinnedHttpClient extends Context.Service<PinnedHttpClient, PinnedHttpClient.Service>()(
  "@managed-identity/effect4/ServiceFabricTokenSource/PinnedHttpClient"
) {}

/**
 * @since 0.1.0
 */
export declare namespace PinnedHttpClient {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** The client pinned to `thumbprint`; fails with `InvalidIdentity` if it is not a SHA-1 thumbprint. */
    readonly forThumbprint: (thumbprint: string) => Effect.Effect<HttpClient.HttpClient, InvalidIdentity>
  }
}

/**
 * Normalises a certificate thumbprint: spaces, tabs, newlines and `:` are dropped and the rest lower-cased; it
 * must then be 40 hexadecimal characters. Thumbprints are not secrets, but the message does not echo it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const normalizeThumbprint = (thumbprint: string): Result.Result<string, InvalidIdentity> =>
  Results.toResult(ServiceFabric.normalizeThumbprint(thumbprint))

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenSource.TimingOptions {
  /** `IDENTITY_ENDPOINT`: an https URL. */
  readonly endpoint: string
  /** `IDENTITY_HEADER`, sent as `secret`. */
  readonly identityHeader: Redacted.Redacted<string>
  /** `IDENTITY_SERVER_THUMBPRINT`: the SHA-1 thumbprint of the endpoint's certificate. */
  readonly thumbprint: string
}

/**
 * Builds the source. A user-assigned identity is refused (`InvalidIdentity`, nothing sent): on Service Fabric the
 * identity comes from the cluster, and a user-assigned id would be silently ignored by the endpoint. The endpoint
 * must be https, the secret one a header can carry and the thumbprint well formed, also checked before anything is
 * sent; the pinned client is asked for once, here.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<TokenSource.TokenSource.Service, never, PinnedHttpClient | ManagedIdentity.ManagedIdentity> =>
  Effect.gen(function*() {
    const pinned = yield* PinnedHttpClient
    const identity = yield* ManagedIdentity.ManagedIdentity
    const definition = SourceService.definition(ServiceFabric.facts, options.endpoint, options)
    const checked = ServiceFabric.check({
      endpoint: options.endpoint,
      identityHeader: Redacted.value(options.identityHeader),
      thumbprint: options.thumbprint
    }, identity)
    const attempt = yield* Effect.result(Effect.gen(function*() {
      const settings = yield* Results.toEffect(checked)
      const client = yield* pinned.forThumbprint(settings.thumbprint)
      return SourceService.single(client, definition, (request) => ServiceFabric.request(settings, request))
    }))
    return SourceService.fromChecked(definition, identity, attempt)
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<TokenSource.TokenSource, never, PinnedHttpClient | ManagedIdentity.ManagedIdentity> =>
  Layer.effect(TokenSource.TokenSource, make(options))

/**
 * Reads `IDENTITY_ENDPOINT`, `IDENTITY_HEADER` and `IDENTITY_SERVER_THUMBPRINT` through `Config`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  timing: TokenSource.TimingOptions = {}
): Layer.Layer<TokenSource.TokenSource, Config.ConfigError, PinnedHttpClient | ManagedIdentity.ManagedIdentity> =>
  Config.all({
    endpoint: Environment.required("IDENTITY_ENDPOINT"),
    identityHeader: Environment.requiredSecret("IDENTITY_HEADER"),
    thumbprint: Environment.required("IDENTITY_SERVER_THUMBPRINT")
  }).pipe(
    Effect.flatMap((config) => make({ ...timing, ...config })),
    Layer.effect(TokenSource.TokenSource)
  )
