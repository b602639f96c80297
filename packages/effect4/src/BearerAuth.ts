/**
 * An `HttpClient` middleware that authenticates requests with a managed identity token: it sets
 * `Authorization: Bearer …` for a resource and answers a `401` claims challenge (Continuous Access Evaluation)
 * by fetching a token with those claims and sending the request once more.
 *
 * @since 0.1.0
 */
import * as Claims from "@managed-identity/protocol/Claims"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { ManagedIdentityClient } from "./ManagedIdentityClient.js"
import type { ManagedIdentityError } from "./ManagedIdentityError.js"

/**
 * The decoded claims of a `WWW-Authenticate` challenge's `claims="<base64>"` parameter (standard or URL-safe
 * base64, padded or not), or `None` when the header carries no decodable claims.
 *
 * @since 0.1.0
 * @category constructors
 */
export const claimsFromChallenge = (header: string | undefined): Option.Option<string> =>
  Option.fromUndefinedOr(Claims.fromChallenge(header))

const authenticate = <E, R, E2>(
  self: HttpClient.HttpClient.With<E, R>,
  client: ManagedIdentityClient.Service,
  resource: string,
  onTokenError: (request: HttpClientRequest.HttpClientRequest, error: ManagedIdentityError) => E2
): HttpClient.HttpClient.With<E | E2, R> => {
  const send = (
    request: HttpClientRequest.HttpClientRequest,
    claims: string | undefined
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, E | E2, R> =>
    client.getToken(resource, claims === undefined ? undefined : { claims }).pipe(
      Effect.mapError((error) => onTokenError(request, error)),
      Effect.flatMap((token) => self.execute(HttpClientRequest.bearerToken(request, token.token)))
    )
  return HttpClient.makeWith<never, never, E | E2, R>(
    (effect) =>
      Effect.flatMap(effect, (request) =>
        Effect.flatMap(send(request, undefined), (response) => {
          if (response.status !== 401 || request.body._tag === "Stream") return Effect.succeed(response)
          return Option.match(claimsFromChallenge(response.headers["www-authenticate"]), {
            onNone: () => Effect.succeed(response),
            onSome: (claims) => Effect.andThen(Effect.ignore(response.arrayBuffer), send(request, claims))
          })
        })),
    Effect.succeed
  )
}

/**
 * Authenticates an `HttpClient` with tokens for `resource` from the `ManagedIdentityClient` in context. The result
 * is an `Effect` that resolves the client once, so the authenticated `HttpClient` itself needs nothing more and
 * can be kept in a service. A token failure is a `ManagedIdentityError` in the request's error channel.
 *
 * On a `401` whose `WWW-Authenticate` carries `claims="<base64>"` (a Continuous Access Evaluation challenge), it
 * gets a token with those claims (bypassing the cache) and sends the request once more; whatever that answers is
 * returned, a second `401` included. A request with a streaming body is not resent.
 *
 * @example
 * ```ts
 * import { BearerAuth } from "@managed-identity/effect4"
 * import { Effect } from "effect"
 * import * as HttpClient from "effect/http/HttpClient"
 *
 * const readSecret = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   const vault = yield* BearerAuth.withManagedIdentity("https://vault.azure.net")(client)
 *   const response = yield* vault.get("https://my-vault.vault.azure.net/secrets/db-password?api-version=7.4")
 *   return yield* response.json
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withManagedIdentity: {
  (
    resource: string
  ): <E, R>(
    self: HttpClient.HttpClient.With<E, R>
  ) => Effect.Effect<HttpClient.HttpClient.With<E | ManagedIdentityError, R>, never, ManagedIdentityClient>
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    resource: string
  ): Effect.Effect<HttpClient.HttpClient.With<E | ManagedIdentityError, R>, never, ManagedIdentityClient>
} = dual(2, <E, R>(
  self: HttpClient.HttpClient.With<E, R>,
  resource: string
): Effect.Effect<HttpClient.HttpClient.With<E | ManagedIdentityError, R>, never, ManagedIdentityClient> =>
  Effect.map(ManagedIdentityClient, (client) => authenticate(self, client, resource, (_, error) => error)))

/**
 * Replaces the `HttpClient` in context with one authenticated for `resource` (see {@link withManagedIdentity}).
 * As the `HttpClient` service can only fail with an `HttpClientError`, a token failure becomes a `RequestError`
 * with reason `"Transport"` whose `cause` is the `ManagedIdentityError`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  resource: string
): Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient | ManagedIdentityClient> =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.zipWith(HttpClient.HttpClient, ManagedIdentityClient, (http, client) =>
      authenticate(http, client, resource, (request, error) =>
        new HttpClientError.HttpClientError({
          reason: new HttpClientError.TransportError({
            request,
            cause: error,
            description: `no token for ${resource}: ${error.message}`
          })
        })))
  )
