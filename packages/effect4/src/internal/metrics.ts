/**
 * The library's metric counters: requests, retries, cache hits and misses, refresh failures, by source.
 */
import type { SourceKind } from "@managed-identity/protocol/SourceKind"
import type * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"

/**
 * The metric names, stable for exporters. Every counter carries a `source` attribute (a `SourceKind`); requests also
 * carry `status`: the HTTP status code, the error tag when no response came (`ConnectionFailed`, `SourceUnavailable`,
 * `ServiceFabricCertificateMismatch`), or `interrupted` when an attempt timeout or the deadline cut the request.
 */
export const names = {
  requests: "managed_identity.requests",
  retries: "managed_identity.retries",
  cacheHits: "managed_identity.cache.hits",
  cacheMisses: "managed_identity.cache.misses",
  refreshFailures: "managed_identity.refresh.failures"
} as const

/** A counter whose attributes are part of it, made once per name and attributes. */
export type Counter = Metric.Counter<number>

const counters = new Map<string, Counter>()

const counter = (name: string, description: string, attributes: Readonly<Record<string, string>>): Counter => {
  const id = [name, ...Object.values(attributes)].join("\u0000")
  let found = counters.get(id)
  if (found === undefined) {
    found = Metric.counter(name, { description, incremental: true, attributes })
    counters.set(id, found)
  }
  return found
}

/** Adds one, in the fiber's metric registry. */
export const increment = (self: Counter): Effect.Effect<void> => Metric.update(self, 1)

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

/**
 * Adds one, synchronously, in the registry of `context` (the client's, taken when it is built): keeps the cache-hit
 * path free of an extra effect.
 */
export const incrementUnsafe = (self: Counter, context: Context.Context<never>): void => self.updateUnsafe(1, context)
