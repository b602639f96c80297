/**
 * The protocol's plain results as Effect values: a `Result` of a `Problem` becomes an `Either` (or an `Effect`) of
 * the typed error.
 */
import type * as Problem from "@managed-identity/protocol/Problem"
import type * as Result from "@managed-identity/protocol/Result"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { type ErrorOf, fromProblem } from "../ManagedIdentityError.js"

/** A protocol result as an `Either` of the typed error. */
export const toEither = <A, P extends Problem.Problem>(result: Result.Result<A, P>): Either.Either<A, ErrorOf<P>> =>
  result._tag === "Ok" ? Either.right(result.value) : Either.left(fromProblem(result.error))

/** A protocol result as an `Effect` failing with the typed error. */
export const toEffect = <A, P extends Problem.Problem>(result: Result.Result<A, P>): Effect.Effect<A, ErrorOf<P>> =>
  result._tag === "Ok" ? Effect.succeed(result.value) : Effect.fail(fromProblem(result.error))
