/**
 * The protocol's plain results as Effect values: a `Result` of a `Problem` becomes an Effect `Result` (or an
 * `Effect`) of the typed error.
 */
import type * as Problem from "@managed-identity/protocol/Problem"
import type * as Plain from "@managed-identity/protocol/Result"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { type ErrorOf, fromProblem } from "../ManagedIdentityError.js"

/** A protocol result as a `Result` of the typed error. */
export const toResult = <A, P extends Problem.Problem>(result: Plain.Result<A, P>): Result.Result<A, ErrorOf<P>> =>
  result._tag === "Ok" ? Result.succeed(result.value) : Result.fail(fromProblem(result.error))

/** A protocol result as an `Effect` failing with the typed error. */
export const toEffect = <A, P extends Problem.Problem>(result: Plain.Result<A, P>): Effect.Effect<A, ErrorOf<P>> =>
  result._tag === "Ok" ? Effect.succeed(result.value) : Effect.fail(fromProblem(result.error))
