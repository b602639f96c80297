/**
 * IMDS's probe: until IMDS has answered once, each exchange must connect and begin to answer within the probe's timeout.
 */
import * as Imds from "@managed-identity/protocol/sources/Imds"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import {
  type ConnectionFailed,
  fromProblem,
  type ManagedIdentityError,
  type SourceUnavailable
} from "../../ManagedIdentityError.js"
import { AnswerBegun, type Endpoint, type Received } from "./exchange.js"
import type { Guard } from "./sourceService.js"

/** A connection that failed or broke off: refused, unreachable, reset, or an answer cut short. */
const isConnectionFailure = (error: ManagedIdentityError): error is ConnectionFailed | SourceUnavailable =>
  error._tag === "ConnectionFailed" || error._tag === "SourceUnavailable"

/**
 * Within the probe, a failed connection is tried again after 50, 100 and 200 ms: an IMDS that restarts refuses or
 * resets a connection for a moment, and a VM's network may come up just after the app. The pauses leave most of the
 * probe's second to the tries themselves; the probe's timeout bounds the whole.
 */
const connectionRetries = Schedule.exponential(Duration.millis(50)).pipe(Schedule.intersect(Schedule.recurs(3)))

/**
 * The probe of one source: until IMDS has answered it once, each exchange gets `timeout` to connect and begin to
 * answer (its status and headers; the body is then read within the attempt's own timeout), trying a failed
 * connection again a few times within it. No answer in time, a connection that failed every time, or
 * Docker Desktop's `403 … unreachable` is a `SourceUnavailable` (not retried by the source, and not remembered: the
 * next exchange probes again); any other HTTP answer means IMDS is there, and from then on exchanges run as they are.
 */
export const make = (endpoint: Endpoint, timeout: Duration.DurationInput): Effect.Effect<Guard> =>
  Effect.map(Ref.make(false), (answered) => {
    const limit = Duration.decode(timeout)
    const unavailable = (reason: string) => fromProblem(Imds.probeFailed(endpoint.url, reason))
    const probe = (exchange: Effect.Effect<Received, ManagedIdentityError>) =>
      Effect.flatMap(Deferred.make<void>(), (begun) => {
        const answer = exchange.pipe(
          Effect.retry({ schedule: connectionRetries, while: isConnectionFailure }),
          Effect.catchIf(isConnectionFailure, (error) => Effect.fail(unavailable(`no answer (${error.reason})`))),
          Effect.provideService(AnswerBegun, Effect.asVoid(Deferred.succeed(begun, undefined)))
        )
        // The probe's time runs until an answer begins (status and headers), not until its body ends.
        const noAnswer = Deferred.await(begun).pipe(
          Effect.timeoutFail({
            duration: limit,
            onTimeout: () => unavailable(`no answer within ${Duration.format(limit)}`)
          }),
          Effect.andThen(Effect.never)
        )
        return Effect.raceFirst(answer, noAnswer)
      }).pipe(
        Effect.flatMap((received) =>
          Imds.isUnreachableAnswer(received)
            ? Effect.fail(unavailable(Imds.unreachableReason))
            : Effect.as(Ref.set(answered, true), received)
        )
      )
    return (exchange) => Effect.flatMap(Ref.get(answered), (yes) => yes ? exchange : probe(exchange))
  })
