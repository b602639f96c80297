/**
 * Tokens from Azure Cloud Shell (`MSI_ENDPOINT` without `MSI_SECRET`): the signed-in user's token, as msal-node and
 * MSAL .NET get it.
 *
 * Cloud Shell sends no secret, so its endpoint is not restricted to loopback hosts; it only has to be an http or
 * https URL.
 *
 * @since 0.1.0
 */
import * as CloudShell from "@managed-identity/protocol/sources/CloudShell"
import type * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as SourceService from "./internal/http/sourceService.js"
import * as Environment from "./internal/source/environment.js"
import * as LocalHttpClient from "./LocalHttpClient.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import type { ManagedIdentityError } from "./ManagedIdentityError.js"
import type * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * The retry policy Cloud Shell uses unless a `retrySchedule` replaces it.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = SourceService.retryRules(CloudShell.facts).retryPolicy

/**
 * The failures Cloud Shell retries; a `retrySchedule` never retries anything else.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable: (error: ManagedIdentityError) => boolean =
  SourceService.retryRules(CloudShell.facts).isRetryable

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenSource.TimingOptions {
  /** `MSI_ENDPOINT`, normally `http://localhost:50342/oauth2/token`. */
  readonly endpoint: string
}

/**
 * Builds the source: `POST` with the form body `resource=<resource>`. Any user-assigned identity is refused with
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
    const definition = SourceService.definition(CloudShell.facts, options.endpoint, options)
    return SourceService.make(
      definition,
      identity,
      CloudShell.check(options.endpoint, identity),
      (checked) => SourceService.single(client, definition, (request) => CloudShell.request(checked, request))
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
 * Reads `MSI_ENDPOINT` through `Config`.
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
  Environment.required("MSI_ENDPOINT").pipe(
    Effect.flatMap((endpoint) => make({ ...timing, endpoint })),
    Layer.effect(TokenSource.TokenSource)
  )
