/**
 * Run by `ProxyImmunity.test.ts` in a child process (Node 24 with `NODE_USE_ENV_PROXY=1`, under `tsx`): one token for
 * `https://vault.azure.net` through `NodeManagedIdentity.layerWithOptions` from the source its environment names,
 * without retries; prints where the token came from as JSON.
 */
import { ManagedIdentity, ManagedIdentityClient, RetryPolicy } from "@managed-identity/effect4"
import { Effect, Layer } from "effect"
import { NodeManagedIdentity } from "../../src/index.js"

const token = await Effect.runPromise(
  Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken("https://vault.azure.net"))
    .pipe(
      Effect.provide(
        NodeManagedIdentity.layerWithOptions({ source: { retrySchedule: RetryPolicy.none } }).pipe(
          Layer.provide(ManagedIdentity.layerSystemAssigned)
        )
      )
    )
)
process.stdout.write(`${JSON.stringify({ source: token.source, resource: token.resource })}\n`)
