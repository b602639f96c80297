import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Tls from "node:tls"
import { Agent, fetch } from "undici"

/**
 * A `fetch` (undici's) that trusts Node's root CAs and `ca`, destroyed when the scope closes: what `NODE_EXTRA_CA_CERTS`
 * gives a process started after the CA file exists.
 *
 * @internal
 */
export const layerFetch = (ca: string): Layer.Layer<FetchHttpClient.Fetch> =>
  Layer.scoped(
    FetchHttpClient.Fetch,
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => new Agent({ connect: { ca: [...Tls.rootCertificates, ca] } })),
        (agent) => Effect.promise(() => agent.destroy())
      ),
      (agent) =>
        ((input: string | URL | Request, init?: RequestInit) =>
          fetch(
            input as string,
            { ...init, dispatcher: agent } as Parameters<typeof fetch>[1]
          )) as unknown as typeof globalThis.fetch
    )
  )
