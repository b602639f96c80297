/**
 * Managed identity traffic to loopback and link-local hosts (IMDS at `169.254.169.254`, App Service, Azure Arc, Cloud
 * Shell and Azure Machine Learning on `localhost`) must never reach a proxy: a proxy cannot reach those hosts on the
 * app's behalf, and it would see the endpoint's secret header. Node 22/24 with `NODE_USE_ENV_PROXY=1` and Bun's
 * `fetch` send such requests to `HTTP_PROXY` unless `NO_PROXY` names the host.
 *
 * This module states the transport that does not as a service, {@link LocalHttpClient}, which a platform provides
 * (effect4-node: Node's `http` with an agent of its own). When one is in context, every source sends an `http` request
 * to a loopback or link-local host that a proxy variable would catch through it instead of through the app's
 * `HttpClient`, whatever that client is. Without one, the app's `HttpClient` sends everything.
 *
 * @since 0.1.0
 */
import * as Proxy from "@managed-identity/protocol/Proxy"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as Option from "effect/Option"

/**
 * An `HttpClient` that reaches loopback and link-local `http` endpoints without any proxy, whatever the environment
 * says, and never follows a redirect.
 *
 * @since 0.1.0
 * @category tags
 */
export class LocalHttpClient extends Context.Service<LocalHttpClient, HttpClient.HttpClient>()(
  "@managed-identity/effect4/LocalHttpClient"
) {}

/**
 * Whether a request for `url` goes through {@link LocalHttpClient}: an `http` URL on a loopback or link-local host
 * that a proxy variable of `environment` would catch (`Proxy.catchingLocal`, which reads `NO_PROXY`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isBypassed = (url: string, environment: Proxy.Environment): boolean =>
  Proxy.catchingLocal(url, environment).length > 0

/**
 * An `HttpClient` that sends the requests {@link isBypassed} picks through `local`, every other one through `self`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const route: {
  (
    local: HttpClient.HttpClient,
    environment: Proxy.Environment
  ): (self: HttpClient.HttpClient) => HttpClient.HttpClient
  (self: HttpClient.HttpClient, local: HttpClient.HttpClient, environment: Proxy.Environment): HttpClient.HttpClient
} = dual(
  3,
  (self: HttpClient.HttpClient, local: HttpClient.HttpClient, environment: Proxy.Environment): HttpClient.HttpClient =>
    HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
      (request) => Effect.flatMap(request, (sent) => (isBypassed(sent.url, environment) ? local : self).execute(sent)),
      Effect.succeed
    )
)

/**
 * The proxy variables (`Proxy.variables`, lower and upper case) as `Config` reads them; one that cannot be read counts
 * as unset.
 *
 * @since 0.1.0
 * @category constructors
 */
export const environment: Effect.Effect<Proxy.Environment> = Effect.map(
  Effect.all(
    Proxy.variables.map((name) =>
      Effect.map(
        Effect.orElseSucceed(Config.option(Config.String(name)), () => Option.none<string>()),
        (value) => [name, Option.getOrUndefined(value)] as const
      )
    )
  ),
  (entries) => Object.fromEntries(entries)
)

/**
 * The `HttpClient` in context, routed through the {@link LocalHttpClient} in context when there is one (and a proxy
 * variable is set): what every source sends with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const routed: Effect.Effect<HttpClient.HttpClient, never, HttpClient.HttpClient> = Effect.flatMap(
  HttpClient.HttpClient,
  (client) =>
    Effect.flatMap(Effect.serviceOption(LocalHttpClient), (local) =>
      Option.isNone(local)
        ? Effect.succeed(client)
        : Effect.map(
          environment,
          (env) => Proxy.variables.some((name) => env[name] !== undefined) ? route(client, local.value, env) : client
        ))
)
