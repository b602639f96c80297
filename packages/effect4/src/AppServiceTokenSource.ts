/**
 * Tokens from App Service, Azure Functions and Azure Automation (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
 *
 * @since 0.1.0
 */
import * as AppService from "@managed-identity/protocol/sources/AppService"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as SourceService from "./internal/http/sourceService.js"
import * as Environment from "./internal/source/environment.js"
import * as LocalHttpClient from "./LocalHttpClient.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import type { ManagedIdentityError } from "./ManagedIdentityError.js"
import type * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion: string = AppService.apiVersion

/**
 * The retry policy App Service uses unless a `retrySchedule` replaces it.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = SourceService.retryRules(AppService.facts).retryPolicy

/**
 * The failures App Service retries; a `retrySchedule` never retries anything else.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable: (error: ManagedIdentityError) => boolean =
  SourceService.retryRules(AppService.facts).isRetryable

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenSource.TimingOptions {
  /** `IDENTITY_ENDPOINT`: an http URL on a loopback host. */
  readonly endpoint: string
  /** `IDENTITY_HEADER`, sent as `X-IDENTITY-HEADER`. */
  readonly identityHeader: Redacted.Redacted<string>
}

/**
 * Builds the source. An endpoint the secret may not be sent to, and a secret a header cannot carry, are refused with
 * `InvalidIdentity` before anything is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<TokenSource.TokenSource.Service, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  Effect.gen(function*() {
    const client = yield* LocalHttpClient.routed
    const identity = yield* ManagedIdentity.ManagedIdentity
    const definition = SourceService.definition(AppService.facts, options.endpoint, options)
    const checked = AppService.check(
      { endpoint: options.endpoint, identityHeader: Redacted.value(options.identityHeader) },
      identity
    )
    return SourceService.make(
      definition,
      identity,
      checked,
      (settings) => SourceService.single(client, definition, (request) => AppService.request(settings, request))
    )
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<TokenSource.TokenSource, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  Layer.effect(TokenSource.TokenSource, make(options))

/**
 * Reads `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` through `Config`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  timing: TokenSource.TimingOptions = {}
): Layer.Layer<
  TokenSource.TokenSource,
  Config.ConfigError,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity
> =>
  Config.all({
    endpoint: Environment.required("IDENTITY_ENDPOINT"),
    identityHeader: Environment.requiredSecret("IDENTITY_HEADER")
  }).pipe(
    Effect.flatMap((config) => make({ ...timing, ...config })),
    Layer.effect(TokenSource.TokenSource)
  )
