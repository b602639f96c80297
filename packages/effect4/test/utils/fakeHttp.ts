/**
 * A recording fake `HttpClient` for tests: answers each request with the next scripted reply and records what was
 * sent. It never opens a socket, so any URL (even IMDS's `169.254.169.254`) is safe to point at it.
 *
 * ```ts
 * const http = yield* FakeHttp.make([FakeHttp.json({ error: "busy" }, { status: 500 }), FakeHttp.json(token)])
 * const source = yield* ImdsTokenSource.make().pipe(Effect.provide(http.layer), ...)
 * assert.strictEqual(yield* http.count, 2)
 * ```
 */
import { Effect, Layer, Ref } from "effect"
import { HttpClient, HttpClientError, type HttpClientRequest, HttpClientResponse } from "effect/http"

/** One scripted answer. */
export type Reply =
  | {
    readonly _tag: "Response"
    readonly status: number
    readonly body: string
    readonly headers: Readonly<Record<string, string>>
  }
  | { readonly _tag: "TransportFailure"; readonly cause: unknown }
  | { readonly _tag: "CutShort"; readonly status: number; readonly body: string }
  | { readonly _tag: "Never" }

/** What the client was asked to send. Header names are lowercase, as Effect's `Headers` stores them. */
export interface RecordedRequest {
  readonly method: string
  /** The full URL, query included. */
  readonly url: string
  /** The URL without query or hash. */
  readonly urlWithoutQuery: string
  readonly params: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  /** The body as text (`Uint8Array` or string bodies), `undefined` when there is none. */
  readonly body: string | undefined
}

/** The fake: provide `layer` (or `client`), then read what was sent. */
export interface FakeHttp {
  readonly client: HttpClient.HttpClient
  readonly layer: Layer.Layer<HttpClient.HttpClient>
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly count: Effect.Effect<number>
  /** How many requests were interrupted while waiting for an answer (`never` replies). */
  readonly interrupted: Effect.Effect<number>
}

/** A scripted list (the last reply repeats once the list runs out) or a function of the request and its index. */
export type Script = ReadonlyArray<Reply> | ((request: RecordedRequest, index: number) => Reply)

interface ReplyOptions {
  readonly status?: number | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/** A response with a text body (default status 200). */
export const text = (body: string, options: ReplyOptions = {}): Reply => ({
  _tag: "Response",
  status: options.status ?? 200,
  body,
  headers: options.headers ?? {}
})

/** A response with `JSON.stringify(body)` and `content-type: application/json` (default status 200). */
export const json = (body: unknown, options: ReplyOptions = {}): Reply =>
  text(JSON.stringify(body), { ...options, headers: { "content-type": "application/json", ...options.headers } })

/** A transport failure, as `HttpClientError` with a `TransportError` reason and this `cause`. */
export const transportError = (cause: unknown): Reply => ({ _tag: "TransportFailure", cause })

/** Connection refused (a Node-style error with `code: "ECONNREFUSED"`): nothing listens at the endpoint. */
export const refused: Reply = transportError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))

/**
 * An answer whose status and headers arrive, and whose body breaks off after its first half, as `fetch` reports a
 * reset or a connection closed mid-body (`TypeError: terminated`).
 */
export const cutShort = (body: string, options: { readonly status?: number } = {}): Reply => ({
  _tag: "CutShort",
  status: options.status ?? 200,
  body
})

/** A request that is never answered (for timeouts). */
export const never: Reply = { _tag: "Never" }

const decoder = new TextDecoder()

const nullBodyStatuses = new Set([101, 103, 204, 205, 304])

const record = (request: HttpClientRequest.HttpClientRequest, url: URL): RecordedRequest => {
  const body = request.body
  const urlWithoutQuery = new URL(url)
  urlWithoutQuery.search = ""
  urlWithoutQuery.hash = ""
  return {
    method: request.method,
    url: url.toString(),
    urlWithoutQuery: urlWithoutQuery.toString(),
    params: Object.fromEntries(url.searchParams),
    headers: { ...request.headers },
    body: body._tag === "Uint8Array"
      ? decoder.decode(body.body)
      : body._tag === "Raw" && typeof body.body === "string"
      ? body.body
      : undefined
  }
}

/** Builds a fake client answering with `script`. */
export const make = (script: Script): Effect.Effect<FakeHttp> =>
  Effect.map(Effect.all([Ref.make<ReadonlyArray<RecordedRequest>>([]), Ref.make(0)]), ([recorded, interrupted]) => {
    const next = (request: RecordedRequest, index: number): Reply => {
      if (typeof script === "function") return script(request, index)
      const reply = script[Math.min(index, script.length - 1)]
      if (reply === undefined) throw new Error("FakeHttp: the script is empty")
      return reply
    }
    const client = HttpClient.make((request, url) =>
      Effect.flatMap(
        Ref.modify(recorded, (all) => {
          const entry = record(request, url)
          return [[entry, all.length] as const, [...all, entry]]
        }),
        ([entry, index]) => {
          const reply = next(entry, index)
          switch (reply._tag) {
            case "Never":
              return Effect.onInterrupt(Effect.never, () => Ref.update(interrupted, (n) => n + 1))
            case "TransportFailure":
              return Effect.fail(
                new HttpClientError.HttpClientError({
                  reason: new HttpClientError.TransportError({ request, cause: reply.cause })
                })
              )
            case "CutShort": {
              const half = new TextEncoder().encode(reply.body.slice(0, Math.ceil(reply.body.length / 2)))
              const stream = new ReadableStream<Uint8Array>({
                start: (controller) => {
                  controller.enqueue(half)
                  controller.error(new TypeError("terminated", { cause: new Error("other side closed") }))
                }
              })
              return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(stream, { status: reply.status })))
            }
            case "Response":
              return Effect.succeed(
                HttpClientResponse.fromWeb(
                  request,
                  new Response(nullBodyStatuses.has(reply.status) ? null : reply.body, {
                    status: reply.status,
                    headers: reply.headers
                  })
                )
              )
          }
        }
      )
    )
    return {
      client,
      layer: Layer.succeed(HttpClient.HttpClient, client),
      requests: Ref.get(recorded),
      count: Effect.map(Ref.get(recorded), (all) => all.length),
      interrupted: Ref.get(interrupted)
    }
  })
