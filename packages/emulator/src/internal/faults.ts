import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import {
  type FaultScripts,
  type FaultStep,
  isTokenFault,
  type ReplyFault,
  SourceKind,
  type TokenFault
} from "./model.js"
import * as EmulatorReplies from "./replies.js"

/** @internal */
export const oversizedPadding = 100 * 1024

/** @internal */
export const trickleChunkSize = 16

/** A step as queued, with how many more times it answers: `times` is counted down, never expanded. */
interface Queued {
  readonly step: FaultStep
  readonly remaining: number
}

const queue = (steps: ReadonlyArray<FaultStep>): ReadonlyArray<Queued> =>
  steps.map((step) => ({ step, remaining: step.times ?? 1 }))

/**
 * The queued fault steps of every source: a request takes the next step of its source, if any.
 *
 * @internal
 */
export interface Queues {
  /** Replaces the script of `kind`. */
  readonly set: (kind: SourceKind, steps: ReadonlyArray<FaultStep>) => Effect.Effect<void>
  /** Replaces the scripts of the sources named; the others keep theirs. */
  readonly setScripts: (scripts: FaultScripts) => Effect.Effect<void>
  /**
   * Takes the next step of `kind` for an answer; `None` when its queue is empty or starts with a token fault (answer
   * normally).
   */
  readonly next: (kind: SourceKind) => Effect.Effect<Option.Option<ReplyFault>>
  /** Takes the next step of `kind` for a token being issued, if it is a token fault. */
  readonly nextToken: (kind: SourceKind) => Effect.Effect<Option.Option<TokenFault>>
}

type QueuedBySource = Partial<Record<SourceKind, ReadonlyArray<Queued>>>

/**
 * Queues holding `initial`.
 *
 * @internal
 */
export const makeQueues = (initial: FaultScripts): Effect.Effect<Queues> =>
  Effect.gen(function*() {
    const queued = yield* Ref.make<QueuedBySource>({})
    const set = (kind: SourceKind, steps: ReadonlyArray<FaultStep>) =>
      Ref.update(queued, (queues) => ({ ...queues, [kind]: queue(steps) }))
    const setScripts = (scripts: FaultScripts) =>
      Effect.forEach(SourceKind.literals, (kind) => {
        const steps = scripts[kind]
        return steps === undefined ? Effect.void : set(kind, steps)
      }, { discard: true })
    const take = <A extends FaultStep>(kind: SourceKind, refine: (step: FaultStep) => step is A) =>
      Ref.modify(queued, (queues): [Option.Option<A>, QueuedBySource] => {
        const [first, ...rest] = queues[kind] ?? []
        if (first === undefined || !refine(first.step)) return [Option.none(), queues]
        const left = first.remaining > 1 ? [{ step: first.step, remaining: first.remaining - 1 }, ...rest] : rest
        return [Option.some(first.step), { ...queues, [kind]: left }]
      })
    const next = (kind: SourceKind) => take(kind, (step): step is ReplyFault => !isTokenFault(step))
    const nextToken = (kind: SourceKind) => take(kind, isTokenFault)
    yield* setScripts(initial)
    return { set, setScripts, next, nextToken }
  })

const toResponse = (reply: EmulatorReplies.Reply): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(reply.body, { status: reply.status, headers: reply.headers })

const normally = (normal: Effect.Effect<EmulatorReplies.Reply>) => Effect.map(normal, toResponse)

const trickle = (reply: EmulatorReplies.Reply, pause: Duration.Duration) => {
  const bytes = new TextEncoder().encode(JSON.stringify(reply.body))
  const chunks = Array.from(
    { length: Math.ceil(bytes.length / trickleChunkSize) },
    (_, i) => bytes.subarray(i * trickleChunkSize, (i + 1) * trickleChunkSize)
  )
  return HttpServerResponse.stream(
    Stream.fromIterable(chunks).pipe(
      Stream.zipWithIndex,
      Stream.mapEffect(([chunk, i]) => i === 0 ? Effect.succeed(chunk) : Effect.as(Effect.sleep(pause), chunk))
    ),
    { status: reply.status, headers: reply.headers, contentType: "application/json" }
  )
}

/**
 * The response to one request: the endpoint's normal reply, or what the fault step makes of it.
 *
 * @internal
 */
export const answer = (
  kind: SourceKind,
  step: Option.Option<ReplyFault>,
  request: HttpServerRequest.HttpServerRequest,
  normal: Effect.Effect<EmulatorReplies.Reply>
): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
  if (Option.isNone(step)) {
    return normally(normal)
  }
  const fault = step.value
  if ("status" in fault) {
    return Effect.map(Clock.currentTimeMillis, (at) => {
      const body = "body" in fault
        ? fault.body
        : EmulatorReplies.errorBody(kind, fault.status, `Emulated fault: HTTP ${fault.status}`, at)
      const options = { status: fault.status, headers: fault.headers ?? {} }
      return typeof body === "string"
        ? HttpServerResponse.text(body, options)
        : HttpServerResponse.unsafeJson(body, options)
    })
  }
  if ("aadsts" in fault) {
    return Effect.map(
      Clock.currentTimeMillis,
      (at) =>
        toResponse(
          EmulatorReplies.aadsts(
            fault.aadsts,
            at,
            request.headers["client-request-id"] ??
              new URL(request.url, "http://127.0.0.1").searchParams.get("client-request-id") ?? undefined
          )
        )
    )
  }
  if ("delay" in fault) {
    return Effect.zipRight(Effect.sleep(Duration.millis(fault.delay)), normally(normal))
  }
  if ("reset" in fault) {
    return Effect.zipRight(
      Effect.sync(() => NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()),
      Effect.never
    )
  }
  if ("hang" in fault) {
    return Effect.never
  }
  if ("malformedJson" in fault) {
    return Effect.map(normal, (reply) => {
      const text = JSON.stringify(reply.body)
      return HttpServerResponse.text(text.slice(0, Math.ceil(text.length / 2)), {
        status: 200,
        contentType: "application/json"
      })
    })
  }
  if ("truncated" in fault) {
    return Effect.flatMap(normal, (reply) =>
      Effect.zipRight(
        Effect.sync(() => {
          const body = new TextEncoder().encode(JSON.stringify(reply.body))
          const head = [
            `HTTP/1.1 ${reply.status} Truncated`,
            "content-type: application/json",
            `content-length: ${body.length}`,
            ...Object.entries(reply.headers).map(([name, value]) => `${name}: ${value}`)
          ].join("\r\n")
          const socket = NodeHttpServerRequest.toIncomingMessage(request).socket
          socket.write(`${head}\r\n\r\n`)
          socket.end(body.subarray(0, Math.ceil(body.length / 2)))
        }),
        Effect.never
      ))
  }
  if ("echo" in fault) {
    return Effect.flatMap(
      Effect.all([Clock.currentTimeMillis, Effect.orElseSucceed(request.text, () => "")]),
      ([at, body]) => {
        const received = { url: request.url, headers: request.headers, body }
        const message = `Emulated echo of the request: ${JSON.stringify(received)}`
        return Effect.succeed(
          HttpServerResponse.unsafeJson(EmulatorReplies.errorBody(kind, fault.echo, message, at), {
            status: fault.echo
          })
        )
      }
    )
  }
  if ("oversized" in fault) {
    return Effect.map(normal, (reply) =>
      HttpServerResponse.unsafeJson({
        ...(Predicate.isRecord(reply.body) ? reply.body : {}),
        padding: "x".repeat(oversizedPadding)
      }))
  }
  return Effect.map(normal, (reply) => trickle(reply, Duration.millis(fault.trickle)))
}
