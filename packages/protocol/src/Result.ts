/**
 * The outcome of a protocol function: a value, or the failure it expected (never a thrown exception). Plain data, so
 * each Effect line turns it into its own `Either` or `Result`.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface Ok<A> {
  readonly _tag: "Ok"
  readonly value: A
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Err<E> {
  readonly _tag: "Err"
  readonly error: E
}

/**
 * @since 0.1.0
 * @category models
 */
export type Result<A, E> = Ok<A> | Err<E>

/**
 * @since 0.1.0
 * @category constructors
 */
export const ok = <A>(value: A): Result<A, never> => ({ _tag: "Ok", value })

/**
 * @since 0.1.0
 * @category constructors
 */
export const err = <E>(error: E): Result<never, E> => ({ _tag: "Err", error })

/**
 * @since 0.1.0
 * @category combinators
 */
export const map = <A, E, B>(self: Result<A, E>, f: (value: A) => B): Result<B, E> =>
  self._tag === "Ok" ? ok(f(self.value)) : self

/**
 * @since 0.1.0
 * @category combinators
 */
export const flatMap = <A, E, B, E2>(self: Result<A, E>, f: (value: A) => Result<B, E2>): Result<B, E | E2> =>
  self._tag === "Ok" ? f(self.value) : self

/**
 * The values of every result, in order, or the first failure.
 *
 * @since 0.1.0
 * @category combinators
 */
export const all = <const T extends ReadonlyArray<Result<unknown, unknown>>>(
  results: T
): Result<
  { -readonly [K in keyof T]: T[K] extends Result<infer A, unknown> ? A : never },
  T[number] extends Result<unknown, infer E> ? E : never
> => {
  const values: Array<unknown> = []
  for (const result of results) {
    if (result._tag === "Err") return result as Err<never>
    values.push(result.value)
  }
  return ok(values as never)
}
