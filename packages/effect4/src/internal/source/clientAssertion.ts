/**
 * The attempt of Microsoft Entra's client-assertion exchange, which workload identity (the projected token file) and a
 * managed identity used as a federated credential (the managed identity's token) share: each attempt takes its
 * assertion and its client anew, and sends the exchange built from them.
 */
import type * as Request from "@managed-identity/protocol/Request"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import type { ManagedIdentityError } from "../../ManagedIdentityError.js"
import type { TokenRequest } from "../../TokenRequest.js"
import type * as Exchange from "../http/exchange.js"
import * as SourceService from "../http/sourceService.js"

/** One attempt: the assertion (read or fetched per attempt), the client it goes over, and the request made of it. */
export const attempt = (
  endpoint: Exchange.Endpoint,
  assertion: Effect.Effect<string, ManagedIdentityError>,
  client: Effect.Effect<HttpClient.HttpClient, ManagedIdentityError>,
  request: (assertion: string, tokenRequest: TokenRequest) => Request.Request
): SourceService.Attempt =>
  SourceService.prepared(
    endpoint,
    (tokenRequest) =>
      Effect.zipWith(assertion, client, (clientAssertion, attemptClient) => ({
        client: attemptClient,
        request: request(clientAssertion, tokenRequest)
      }))
  )
