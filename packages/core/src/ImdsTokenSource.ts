/**
 * Tokens from the Azure Instance Metadata Service (VMs, VM scale sets, AKS, Container Instances).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Environment from "./internal/environment.js"
import * as Selector from "./internal/selector.js"
import * as TokenEndpoint from "./internal/tokenEndpoint.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * The IMDS host when `AZURE_POD_IDENTITY_AUTHORITY_HOST` is not set.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAuthorityHost = "http://169.254.169.254"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion = "2018-02-01"

/**
 * The default retry policy of IMDS.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = RetryPolicy.imds

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenEndpoint.TimingOptions {
  /** The IMDS host (default `http://169.254.169.254`); leading and trailing `/` are ignored. */
  readonly authorityHost?: string | undefined
}

const selectorNames: Selector.SelectorNames = { ClientId: "client_id", ResourceId: "msi_res_id", ObjectId: "object_id" }

/**
 * The token URL for an authority host: `<host>/metadata/identity/oauth2/token`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tokenUrl = (authorityHost: string): string =>
  `${authorityHost.replace(/^\/+|\/+$/g, "")}/metadata/identity/oauth2/token`

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<TokenSource.TokenSource.Service, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  Effect.map(Effect.all([HttpClient.HttpClient, ManagedIdentity.ManagedIdentity]), ([client, identity]) => {
    const url = tokenUrl(options.authorityHost ?? defaultAuthorityHost)
    return TokenEndpoint.makeSimpleSource(client, {
      kind: "Imds",
      url,
      identity,
      capabilities: TokenSource.noCapabilities,
      timing: options,
      buildRequest: (request) =>
        Effect.succeed(HttpClientRequest.get(url, {
          urlParams: {
            "api-version": apiVersion,
            resource: request.resource,
            ...Selector.selectorParams(identity, selectorNames)
          },
          headers: { Metadata: "true" }
        }))
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<TokenSource.TokenSource, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  Layer.effect(TokenSource.TokenSource, make(options))

/**
 * The authority host from `AZURE_POD_IDENTITY_AUTHORITY_HOST` (read through `Config`), default IMDS otherwise.
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
    Effect.flatMap(
      Environment.optional("AZURE_POD_IDENTITY_AUTHORITY_HOST"),
      (host) => make({ ...timing, authorityHost: Option.getOrUndefined(host) })
    )
  )

/**
 * @since 0.1.0
 * @category models
 */
export type TimingOptions = TokenEndpoint.TimingOptions
