/**
 * OpenTelemetry kept in memory: `@effect/opentelemetry`'s `NodeSdk` with an in-memory span exporter and an
 * in-memory metric exporter behind a periodic reader, and the two as trees you can read (spans nested by parent,
 * metrics by name and tags).
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { ManagedIdentityClient } from "@managed-identity/core"
import { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { NodeManagedIdentity } from "@managed-identity/platform-node"
import { SpanStatusCode } from "@opentelemetry/api"
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  type MetricData,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { ConfigProvider, Context, Effect, Layer } from "effect"

/** What the exporters hold so far: every ended span, and the metrics as the reader collects them now. */
export class Telemetry extends Context.Tag("examples/Telemetry")<Telemetry, {
  readonly spans: Effect.Effect<ReadonlyArray<ReadableSpan>>
  readonly metrics: Effect.Effect<ReadonlyArray<MetricData>>
}>() {
  /** Effect's tracer and metrics exported through the OpenTelemetry SDK into memory. */
  static readonly layer = Layer.unwrapEffect(Effect.sync(() => {
    const spanExporter = new InMemorySpanExporter()
    const spanProcessor = new SimpleSpanProcessor(spanExporter)
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const metricReader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 })
    return Layer.merge(
      NodeSdk.layer(() => ({ resource: { serviceName: "observability-example" }, spanProcessor, metricReader })),
      Layer.succeed(Telemetry, {
        spans: Effect.promise(() => spanProcessor.forceFlush()).pipe(
          Effect.map(() => spanExporter.getFinishedSpans())
        ),
        metrics: Effect.promise(() => metricReader.forceFlush()).pipe(
          Effect.map(() => metricExporter.getMetrics().at(-1)?.scopeMetrics.flatMap((scope) => scope.metrics) ?? [])
        )
      })
    )
  }))
}

/** A span and the spans it started, in start order. */
export interface SpanNode {
  readonly name: string
  readonly durationMillis: number
  readonly failed: boolean
  readonly attributes: Readonly<Record<string, unknown>>
  readonly children: ReadonlyArray<SpanNode>
}

const millis = ([seconds, nanos]: readonly [number, number]) => seconds * 1000 + nanos / 1e6

/** Nests spans under their parents; a span whose parent was not exported is a root. */
export const spanTree = (spans: ReadonlyArray<ReadableSpan>): ReadonlyArray<SpanNode> => {
  const ids = new Set(spans.map((span) => span.spanContext().spanId))
  const childrenOf = (parent: string | undefined): ReadonlyArray<SpanNode> =>
    spans
      .filter((span) => {
        const parentId = span.parentSpanContext?.spanId
        return parent === undefined ? parentId === undefined || !ids.has(parentId) : parentId === parent
      })
      .sort((a, b) => millis(a.startTime) - millis(b.startTime))
      .map((span) => ({
        name: span.name,
        durationMillis: millis(span.duration),
        failed: span.status.code === SpanStatusCode.ERROR,
        attributes: span.attributes,
        children: childrenOf(span.spanContext().spanId)
      }))
  return childrenOf(undefined)
}

/** One metric's values, one per set of tags. */
export interface MetricNode {
  readonly name: string
  readonly values: ReadonlyArray<{ readonly tags: Readonly<Record<string, string>>; readonly value: number }>
}

const tagText = (tags: Readonly<Record<string, unknown>>) =>
  Object.entries(tags).map(([key, value]) => `${key}=${String(value)}`).join(" ")

/** Counters and gauges whose name starts with `prefix`, by name, each with its values by tags. */
export const metricTree = (metrics: ReadonlyArray<MetricData>, prefix = ""): ReadonlyArray<MetricNode> =>
  metrics
    .filter((metric) => metric.descriptor.name.startsWith(prefix))
    .flatMap((metric) =>
      metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE
        ? [{
          name: metric.descriptor.name,
          values: metric.dataPoints
            .map((point) => ({
              tags: Object.fromEntries(Object.entries(point.attributes).map(([key, value]) => [key, String(value)])),
              value: point.value
            }))
            .sort((a, b) => tagText(a.tags).localeCompare(tagText(b.tags)))
        }]
        : []
    )
    .sort((a, b) => a.name.localeCompare(b.name))

const branches = <A>(
  items: ReadonlyArray<A>,
  indent: string,
  line: (item: A, prefix: string, childIndent: string) => ReadonlyArray<string>
): ReadonlyArray<string> =>
  items.flatMap((item, i) => {
    const last = i === items.length - 1
    return line(item, `${indent}${last ? "└─ " : "├─ "}`, `${indent}${last ? "   " : "│  "}`)
  })

/**
 * The span tree: each span's name, duration and `✗` when it ended in failure, then on the line below the attributes
 * whose key starts with one of `keys` (shown without `managed_identity.`).
 */
export const renderSpans = (
  roots: ReadonlyArray<SpanNode>,
  keys: ReadonlyArray<string> = ["managed_identity.", "http."]
): ReadonlyArray<string> => {
  const lines = (node: SpanNode, head: string, indent: string): ReadonlyArray<string> => {
    const shown = Object.entries(node.attributes)
      .filter(([key]) => keys.some((prefix) => key.startsWith(prefix)))
      .map(([key, value]) => `${key.replace(/^managed_identity\./, "")}=${String(value)}`)
    return [
      `${head}${node.name}  ${node.durationMillis.toFixed(0)} ms${node.failed ? "  ✗" : ""}`,
      ...(shown.length === 0 ? [] : [`${indent}${node.children.length > 0 ? "│  " : "   "}${shown.join(" ")}`]),
      ...branches(node.children, indent, lines)
    ]
  }
  return roots.flatMap((root) => lines(root, "", ""))
}

/** The metric tree: each name, then one branch per set of tags with its value. */
export const renderMetrics = (metrics: ReadonlyArray<MetricNode>): ReadonlyArray<string> =>
  metrics.flatMap((metric) => [
    metric.name,
    ...branches(metric.values, "", (point, prefix) => [`${prefix}${tagText(point.tags)}  ${point.value}`])
  ])

/**
 * The observability example's run: the emulator's IMDS answers `500` once, the client (with the real IMDS retry
 * policy) tries again after its back-off, and a second call is served from the cache. Returns both tokens, what was
 * exported (the metrics also as they were before the first call: Effect's metrics are the process's), and how many
 * requests reached the emulator's IMDS.
 */
export const observedRun = Effect.gen(function*() {
  const emulator = yield* ManagedIdentityEmulator.start({ faults: { Imds: [{ status: 500 }] } })
  const result = yield* Effect.gen(function*() {
    const telemetry = yield* Telemetry
    const metricsBefore = yield* telemetry.metrics
    const client = yield* ManagedIdentityClient.ManagedIdentityClient
    const first = yield* client.getToken("https://vault.azure.net")
    const second = yield* client.getToken("https://vault.azure.net")
    return { first, second, spans: yield* telemetry.spans, metrics: yield* telemetry.metrics, metricsBefore }
  }).pipe(
    Effect.provide(Layer.merge(NodeManagedIdentity.layer, Telemetry.layer)),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(emulator.env("Imds")))))
  )
  return { ...result, requests: yield* emulator.requestCount("Imds") }
}).pipe(Effect.scoped)
