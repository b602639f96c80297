/**
 * Traces and metrics through `@effect/opentelemetry`: IMDS answers `500` once, the client waits its back-off and
 * tries again, and a second call is served from the cache. The OpenTelemetry SDK exports to memory, and the
 * program prints what was exported: the span tree and the metric values.
 *
 * The IMDS is the local emulator, started here with a fault script instead of by `runOnEmulator`, so the fault is
 * in plain sight.
 *
 * Run: pnpm --filter @managed-identity/examples observability
 */
import { NodeRuntime } from "@effect/platform-node"
import { ManagedIdentityClient } from "@managed-identity/core"
import { ManagedIdentityEmulator, NodeManagedIdentity } from "@managed-identity/platform-node"
import { ConfigProvider, Console, Effect, Layer } from "effect"
import { metricTree, renderMetrics, renderSpans, spanTree, Telemetry } from "./Telemetry.js"

const program = Effect.gen(function*() {
  const client = yield* ManagedIdentityClient.ManagedIdentityClient
  yield* client.getToken("https://vault.azure.net")
  yield* client.getToken("https://vault.azure.net")
  const telemetry = yield* Telemetry
  const spans = spanTree(yield* telemetry.spans)
  const metrics = metricTree(yield* telemetry.metrics, "managed_identity.")
  yield* Console.log(
    ["exported spans", ...renderSpans(spans), "", "exported metrics", ...renderMetrics(metrics)].join("\n")
  )
}).pipe(Effect.provide(Layer.merge(NodeManagedIdentity.layer, Telemetry.layer)))

const main = Effect.gen(function*() {
  const emulator = yield* ManagedIdentityEmulator.start({ faults: { Imds: [{ status: 500 }] } })
  yield* program.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(emulator.env("Imds"))))))
})

NodeRuntime.runMain(Effect.scoped(main))
