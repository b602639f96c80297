/**
 * Tokens from Azure Machine Learning compute (`MSI_ENDPOINT` + `MSI_SECRET`).
 *
 * @since 0.1.0
 */
import * as MachineLearning from "@managed-identity/protocol/sources/MachineLearning"
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
export const apiVersion: string = MachineLearning.apiVersion

/**
 * The retry policy Azure Machine Learning uses unless a `retrySchedule` replaces it.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = SourceService.retryRules(MachineLearning.facts).retryPolicy

/**
 * The failures Azure Machine Learning retries; a `retrySchedule` never retries anything else.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable: (error: ManagedIdentityError) => boolean =
  SourceService.retryRules(MachineLearning.facts).isRetryable

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenSource.TimingOptions {
  /** `MSI_ENDPOINT`: an http URL on a loopback host. */
  readonly endpoint: string
  /** `MSI_SECRET`, sent as `secret`. */
  readonly secret: Redacted.Redacted<string>
  /** `DEFAULT_IDENTITY_CLIENT_ID`: sent as `clientid` for the system-assigned identity when set. */
  readonly defaultClientId?: string | undefined
}

/**
 * Builds the source. A user-assigned identity is selected by client id (`clientid`); a resource id or object id is
 * refused with `InvalidIdentity` before anything is sent, and so are an endpoint the secret may not be sent to and a
 * secret a header cannot carry.
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
    const definition = SourceService.definition(MachineLearning.facts, options.endpoint, options)
    const checked = MachineLearning.check(
      { endpoint: options.endpoint, secret: Redacted.value(options.secret), defaultClientId: options.defaultClientId },
      identity
    )
    return {
      ...SourceService.make(
        definition,
        identity,
        checked,
        (settings) => SourceService.single(client, definition, (request) => MachineLearning.request(settings, request))
      ),
      defaultClientId: options.defaultClientId
    }
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
 * Reads `MSI_ENDPOINT`, `MSI_SECRET` and `DEFAULT_IDENTITY_CLIENT_ID` (optional) through `Config`.
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
    endpoint: Environment.required("MSI_ENDPOINT"),
    secret: Environment.requiredSecret("MSI_SECRET"),
    defaultClientId: Environment.optionalValue("DEFAULT_IDENTITY_CLIENT_ID")
  }).pipe(
    Effect.flatMap((config) => make({ ...timing, ...config })),
    Layer.effect(TokenSource.TokenSource)
  )
