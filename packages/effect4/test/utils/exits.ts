/**
 * Reading a failed `Exit` in tests: its one typed error, asserting it failed with one (not a defect or an
 * interruption).
 */
import { assert } from "@effect/vitest"
import { Cause, Exit, Option } from "effect"

/** The typed error `exit` failed with. */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert(Exit.isFailure(exit), String(exit))
  const error = Cause.findErrorOption(exit.cause)
  assert(Option.isSome(error), String(exit))
  return error.value
}
