/**
 * The observability example's own run (`observedRun`: IMDS answers `500` once, the real IMDS retry policy): the
 * exported span tree, what the run added to the counters, and no token in anything exported.
 */
import { assert, describe, it } from "@effect/vitest"
import type { MetricData } from "@opentelemetry/sdk-metrics"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { Effect, Redacted } from "effect"
import { type MetricNode, metricTree, observedRun, renderMetrics, renderSpans, spanTree } from "../src/Telemetry.js"

const resource = "https://vault.azure.net"

const valueOf = (metrics: ReadonlyArray<MetricNode>, name: string, tags: Record<string, string>) =>
  metrics.find((metric) => metric.name === name)?.values.find((point) =>
    Object.keys(tags).length === Object.keys(point.tags).length &&
    Object.entries(tags).every(([key, value]) => point.tags[key] === value)
  )?.value

/**
 * What the run added to each counter: Effect's metrics are the process's, and other test files in this worker count
 * requests too; a value the run did not change is left out.
 */
const addedSince = (before: ReadonlyArray<MetricNode>, after: ReadonlyArray<MetricNode>): ReadonlyArray<MetricNode> =>
  after.flatMap((metric) => {
    const values = metric.values.flatMap((point) => {
      const added = point.value - (valueOf(before, metric.name, point.tags) ?? 0)
      return added === 0 ? [] : [{ ...point, value: added }]
    })
    return values.length === 0 ? [] : [{ ...metric, values }]
  })

const exported = (spans: ReadonlyArray<ReadableSpan>, metrics: ReadonlyArray<MetricData>): string =>
  JSON.stringify([
    spans.map((span) => ({
      name: span.name,
      attributes: span.attributes,
      status: span.status,
      events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })),
      links: span.links.map((link) => link.attributes)
    })),
    metrics.map((metric) => ({
      name: metric.descriptor.name,
      points: metric.dataPoints.map((point) => point.attributes)
    }))
  ])

describe("observability example", () => {
  it.live("one getToken span with a failed and a retried attempt, the counters, and no token exported", () =>
    Effect.gen(function*() {
      const { first, metrics, metricsBefore, requests, second, spans } = yield* observedRun
      assert.strictEqual(first.source, "identity_provider")
      assert.strictEqual(second.source, "cache")
      assert.strictEqual(requests, 2)

      const roots = spanTree(spans)
      assert.deepStrictEqual(roots.map((root) => root.name), ["ManagedIdentityClient.getToken"])
      const [root] = roots
      assert.strictEqual(root.attributes["managed_identity.source"], "Imds")
      assert.strictEqual(root.attributes["managed_identity.resource"], resource)
      assert.isFalse(root.failed)
      assert.deepStrictEqual(root.children.map((child) => child.name), [
        "ManagedIdentity.attempt",
        "ManagedIdentity.attempt"
      ])
      const [failed, retried] = root.children
      assert.deepStrictEqual(
        [failed, retried].map((attempt) => ({
          source: attempt.attributes["managed_identity.source"],
          attempt: attempt.attributes["managed_identity.attempt"],
          status: attempt.attributes["http.response.status_code"],
          outcome: attempt.attributes["managed_identity.outcome"],
          failed: attempt.failed,
          children: attempt.children.length
        })),
        [
          { source: "Imds", attempt: 1, status: 500, outcome: "TokenRequestFailed", failed: true, children: 0 },
          { source: "Imds", attempt: 2, status: 200, outcome: "token", failed: false, children: 0 }
        ]
      )
      assert.strictEqual(failed.attributes["managed_identity.delay_ms"], 0)
      const delay = retried.attributes["managed_identity.delay_ms"]
      assert.isNumber(delay)
      assert.isAtLeast(delay as number, 800, "the IMDS policy waits 1 s ± 20% before the second attempt")
      assert.isAtLeast(root.durationMillis, delay as number)

      const tree = addedSince(metricTree(metricsBefore, "managed_identity."), metricTree(metrics, "managed_identity."))
      assert.strictEqual(valueOf(tree, "managed_identity.requests", { source: "Imds", status: "500" }), 1)
      assert.strictEqual(valueOf(tree, "managed_identity.requests", { source: "Imds", status: "200" }), 1)
      assert.strictEqual(tree.find((metric) => metric.name === "managed_identity.requests")?.values.length, 2)
      assert.strictEqual(valueOf(tree, "managed_identity.retries", { source: "Imds" }), 1)
      assert.strictEqual(valueOf(tree, "managed_identity.cache.hits", { source: "Imds" }), 1)
      assert.strictEqual(valueOf(tree, "managed_identity.cache.misses", { source: "Imds" }), 1)

      const token = Redacted.value(first.token)
      const payload = token.split(".")[1]
      assert.isAbove(payload.length, 20)
      const text = exported(spans, metrics)
      assert.include(text, "TokenRequestFailed")
      assert.notInclude(text, token)
      assert.notInclude(text, payload)

      const printed = renderSpans(roots)
      assert.strictEqual(printed.length, 6)
      assert.match(printed[0], /^ManagedIdentityClient\.getToken {2}\d+ ms$/)
      assert.strictEqual(printed[1], `│  source=Imds resource=${resource}`)
      assert.match(printed[2], /^├─ ManagedIdentity\.attempt {2}\d+ ms {2}✗$/)
      assert.strictEqual(
        printed[3],
        "│     source=Imds attempt=1 delay_ms=0 http.response.status_code=500 outcome=TokenRequestFailed"
      )
      assert.match(printed[4], /^└─ ManagedIdentity\.attempt {2}\d+ ms$/)
      assert.strictEqual(
        printed[5],
        `      source=Imds attempt=2 delay_ms=${delay} http.response.status_code=200 outcome=token`
      )
      const requestLines = renderMetrics(tree.filter((metric) => metric.name === "managed_identity.requests"))
      assert.deepStrictEqual(requestLines, [
        "managed_identity.requests",
        "├─ source=Imds status=200  1",
        "└─ source=Imds status=500  1"
      ])
    }))
})
