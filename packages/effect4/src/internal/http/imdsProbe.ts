/**
 * IMDS's probe: until IMDS has answered once, each exchange must connect and answer within the probe's timeout.
 */
import * as Imds from "@managed-identity/protocol/sources/Imds"
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
import type { Endpoint, Received } from "./exchange.js"
import type { Guard } from "./sourceService.js"

/** A connection that failed or broke off: refused, unreachable, reset, or an answer cut short. */
const isConnectionFailure = (error: ManagedIdentityError): error is ConnectionFailed | SourceUnavailable =>
  error._tag === "ConnectionFailed" || error._tag === "SourceUnavailable"

/**
 * Within the probe, a failed connection is tried again after 50, 100 and 200 ms: an IMDS that restarts refuses or
 * resets a connection for a moment, and a VM's network may come up just after the app. The pauses leave most of the
 * probe's second to the tries themselves; the probe's timeout bounds the whole.
 */
const connectionRetries = Schedule.max([Schedule.exponential(Duration.millis(50)), Schedule.recurs(3)])

/**
 * The probe of one source: until IMDS has answered it once, each exchange gets `timeout` to connect and answer,
 * trying a failed connection again a few times within it. No answer in time, a connection that failed every time, or
 * Docker Desktop's `403 … unreachable` is a `SourceUnavailable` (not retried by the source, and not remembered: the
 * next exchange probes again); any other HTTP answer means IMDS is there, and from then on exchanges run as they are.
 */
export const make = (endpoint: Endpoint, timeout: Duration.Input): Effect.Effect<Guard> =>
  Effect.map(Ref.make(false), (answered) => {
    const limit = Duration.fromInputUnsafe(timeout)
    const unavailable = (reason: string) => fromProblem(Imds.probeFailed(endpoint.url, reason))
    const probe = (exchange: Effect.Effect<Received, ManagedIdentityError>) =>
      exchange.pipe(
        Effect.retry({ schedule: connectionRetries, while: isConnectionFailure }),
        Effect.catchIf(isConnectionFailure, (error) => Effect.fail(unavailable(`no answer (${error.reason})`))),
        Effect.timeoutOrElse({
          duration: limit,
          orElse: () => Effect.fail(unavailable(`no answer within ${Duration.format(limit)}`))
        }),
        Effect.flatMap((received) =>
          Imds.isUnreachableAnswer(received)
            ? Effect.fail(unavailable(Imds.unreachableReason))
            : Effect.as(Ref.set(answered, true), received)
        )
      )
    return (exchange) => Effect.flatMap(Ref.get(answered), (yes) => yes ? exchange : probe(exchange))
  })
