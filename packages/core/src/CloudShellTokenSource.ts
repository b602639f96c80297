/**
 * Tokens from Azure Cloud Shell (`MSI_ENDPOINT` without `MSI_SECRET`): the signed-in user's token, as msal-node and
 * MSAL .NET get it.
 *
 * Cloud Shell sends no secret, so its endpoint is not restricted to loopback hosts; it only has to be an http or
 * https URL.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Environment from "./internal/environment.js"
import * as TokenEndpoint from "./internal/tokenEndpoint.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import { InvalidIdentity } from "./ManagedIdentityError.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * The default retry policy of Cloud Shell.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = RetryPolicy.defaultPolicy

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenEndpoint.TimingOptions {
  /** `MSI_ENDPOINT`, normally `http://localhost:50342/oauth2/token`. */
  readonly endpoint: string
}

const endpointUrl = (value: string): Effect.Effect<URL, InvalidIdentity> => {
  const invalid = new InvalidIdentity({ source: "CloudShell", reason: "MSI_ENDPOINT is not an http or https URL" })
  try {
    const url = new URL(value)
    return url.protocol === "http:" || url.protocol === "https:" ? Effect.succeed(url) : Effect.fail(invalid)
  } catch {
    return Effect.fail(invalid)
  }
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
  Effect.map(
    Effect.all([HttpClient.HttpClient, ManagedIdentity.ManagedIdentity]),
    ([client, identity]) =>
      TokenEndpoint.makeSimpleSource(client, {
        kind: "CloudShell",
        url: options.endpoint,
        identity,
        capabilities: TokenSource.noCapabilities,
        timing: options,
        buildRequest: (request) =>
          identity._tag !== "SystemAssigned"
            ? Effect.fail(TokenEndpoint.unsupportedIdentity("CloudShell", identity))
            : Effect.map(endpointUrl(options.endpoint), (url) =>
              HttpClientRequest.post(url, { headers: { Metadata: "true" } }).pipe(
                HttpClientRequest.bodyUrlParams({ resource: request.resource })
              ))
      })
  )

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
  timing: TokenEndpoint.TimingOptions = {}
): Layer.Layer<
  TokenSource.TokenSource,
  ConfigError.ConfigError,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity
> =>
  Layer.effect(
    TokenSource.TokenSource,
    Effect.flatMap(Environment.required("MSI_ENDPOINT"), (endpoint) => make({ ...timing, endpoint }))
  )
