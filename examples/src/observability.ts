/**
 * Traces and metrics through `@effect/opentelemetry`: IMDS answers `500` once, the client waits its back-off and
 * tries again, and a second call is served from the cache. The OpenTelemetry SDK exports to memory, and the
 * program prints what was exported: the span tree and the metric values.
 *
 * The IMDS is the local emulator, started by `observedRun` (in `Telemetry.ts`) with a fault script instead of by
 * `runOnEmulator`, so the fault is in plain sight; the example's test runs the same `observedRun`.
 *
 * Run: pnpm --filter @managed-identity/examples observability
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { metricTree, observedRun, renderMetrics, renderSpans, spanTree } from "./Telemetry.js"

const main = Effect.gen(function*() {
  const { metrics, spans } = yield* observedRun
  yield* Console.log(
    [
      "exported spans",
      ...renderSpans(spanTree(spans)),
      "",
      "exported metrics",
      ...renderMetrics(metricTree(metrics, "managed_identity."))
    ].join("\n")
  )
})

NodeRuntime.runMain(main)
