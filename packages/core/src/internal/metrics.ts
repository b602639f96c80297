/**
 * The library's metric counters: requests, retries, cache hits and misses, refresh failures, by source.
 */
import type { SourceKind } from "@managed-identity/protocol/SourceKind"
import * as Metric from "effect/Metric"
import * as MetricKey from "effect/MetricKey"
import * as MetricLabel from "effect/MetricLabel"

/**
 * The metric names, stable for exporters. Every counter carries a `source` tag (a `SourceKind`); requests also carry
 * `status`: the HTTP status code, the error tag when no response came (`ConnectionFailed`, `SourceUnavailable`,
 * `ServiceFabricCertificateMismatch`), or `interrupted` when an attempt timeout or the deadline cut the request.
 */
export const names = {
  requests: "managed_identity.requests",
  retries: "managed_identity.retries",
  cacheHits: "managed_identity.cache.hits",
  cacheMisses: "managed_identity.cache.misses",
  refreshFailures: "managed_identity.refresh.failures"
} as const

/** A counter whose tags are part of its key, so an update looks nothing up and allocates nothing. */
export type Counter = Metric.Metric.Counter<number>

const noTags: ReadonlyArray<MetricLabel.MetricLabel> = []

const counters = new Map<string, Counter>()

const counter = (name: string, description: string, tags: Readonly<Record<string, string>>): Counter => {
  const id = [name, ...Object.values(tags)].join("\u0000")
  let found = counters.get(id)
  if (found === undefined) {
    found = Metric.fromMetricKey(
      MetricKey.taggedWithLabels(
        MetricKey.counter(name, { description, incremental: true }),
        Object.entries(tags).map(([key, value]) => MetricLabel.make(key, value))
      )
    )
    counters.set(id, found)
  }
  return found
}

/**
 * Adds one, synchronously. Fiber metric labels (`Effect.tagMetrics`) are not applied: the tags are fixed when the
 * counter is made, which keeps the cache-hit path free of lookups and allocation.
 */
export const increment = (self: Counter): void => self.unsafeUpdate(1, noTags)

/** Token served from the client's cache. */
export const cacheHits = (source: SourceKind): Counter =>
  counter(names.cacheHits, "Tokens served from the cache", { source })

/** No usable cached token: the client asked the source. */
export const cacheMisses = (source: SourceKind): Counter =>
  counter(names.cacheMisses, "getToken calls that found no usable cached token", { source })

/** A background refresh failed (the cached token kept being served). */
export const refreshFailures = (source: SourceKind): Counter =>
  counter(names.refreshFailures, "Background refreshes that failed", { source })

/** An attempt after the first. */
export const retries = (source: SourceKind): Counter =>
  counter(names.retries, "Token request attempts after the first", { source })

/** One HTTP request to a token endpoint, by source and outcome. */
export const requests = (source: SourceKind, status: string): Counter =>
  counter(names.requests, "HTTP requests to managed identity endpoints", { source, status })
