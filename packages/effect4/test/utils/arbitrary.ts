/**
 * The few generators the property tests use, in fast-check's vocabulary, over Effect 4's own `Arbitrary` (Effect 4
 * has no `FastCheck`): primitives are derived from a `Schema` with `Arbitrary.schema`, choices are an index drawn from
 * a bounded integer, so every value still shrinks (the index towards the first choice, then the chosen value).
 */
import { Arbitrary, Schema } from "effect"

/** What a generator, or a weighted choice of `oneof`, generates. */
type Value<T> = T extends Weighted<infer A> ? A : T extends Arbitrary.Arbitrary<infer A> ? A : never

/** An integer in `[min, max]`. */
export const integer = (options: { readonly min: number; readonly max: number }): Arbitrary.Arbitrary<number> =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: options.min, maximum: options.max })))

/** A non-negative 32-bit integer. */
export const nat: Arbitrary.Arbitrary<number> = integer({ min: 0, max: 2 ** 31 - 1 })

/** Any integer a 32-bit signed one holds. */
export const int32: Arbitrary.Arbitrary<number> = integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })

/** Any number: huge, tiny, negative, fractional. */
export const double: Arbitrary.Arbitrary<number> = Arbitrary.schema(Schema.Number)

/** `true` or `false`. */
export const boolean: Arbitrary.Arbitrary<boolean> = Arbitrary.schema(Schema.Boolean)

/** A `bigint` in `[min, max]`. */
export const bigInt = (options: { readonly min: bigint; readonly max: bigint }): Arbitrary.Arbitrary<bigint> =>
  Arbitrary.schema(Schema.BigInt.check(Schema.isBetweenBigInt({ minimum: options.min, maximum: options.max })))

/** Any string (lone surrogates, controls and non-ASCII included), at most `maxLength` long when given. */
export const string = (options: { readonly maxLength?: number } = {}): Arbitrary.Arbitrary<string> =>
  Arbitrary.schema(
    options.maxLength === undefined ? Schema.String : Schema.String.check(Schema.isMaxLength(options.maxLength))
  )

/** A string matching `pattern` (anchored, as `Schema.isPattern` generates it). */
export const stringMatching = (pattern: RegExp): Arbitrary.Arbitrary<string> =>
  Arbitrary.schema(Schema.String.check(Schema.isPattern(pattern)))

/** Any valid date (far past and far future included). */
export const date: Arbitrary.Arbitrary<Date> = Arbitrary.schema(Schema.Date).pipe(
  Arbitrary.filter((value) => !Number.isNaN(value.getTime()))
)

/** Any bytes, at most `maxLength` of them. */
export const uint8Array = (options: { readonly maxLength: number }): Arbitrary.Arbitrary<Uint8Array> =>
  Arbitrary.array(integer({ min: 0, max: 255 }), options).pipe(Arbitrary.map((bytes) => Uint8Array.from(bytes)))

/** Any JSON value, as text. */
export const json: Arbitrary.Arbitrary<string> = Arbitrary.schema(Schema.Json).pipe(
  Arbitrary.map((value) => JSON.stringify(value))
)

/** Always `value`. */
export const constant = <const A>(value: A): Arbitrary.Arbitrary<A> => Arbitrary.Constant(value)

/** One of `values`, shrinking towards the first. */
export const constantFrom = <const Values extends ReadonlyArray<unknown>>(
  ...values: Values
): Arbitrary.Arbitrary<Values[number]> =>
  integer({ min: 0, max: values.length - 1 }).pipe(Arbitrary.map((index) => values[index]))

/** A value of one of `arbitraries`, each as likely as its `weight` (default 1). */
export const oneof = <const Choices extends ReadonlyArray<Arbitrary.Arbitrary<any> | Weighted<any>>>(
  ...choices: Choices
): Arbitrary.Arbitrary<Value<Choices[number]>> => {
  const weighted = choices.map((choice): Weighted<unknown> =>
    "weight" in choice ? choice : { weight: 1, arbitrary: choice }
  )
  const total = weighted.reduce((sum, choice) => sum + choice.weight, 0)
  return Arbitrary.flatMap(integer({ min: 0, max: total - 1 }), (ticket) => {
    for (const choice of weighted) {
      if (ticket < choice.weight) return choice.arbitrary
      ticket -= choice.weight
    }
    return weighted[weighted.length - 1].arbitrary
  }) as Arbitrary.Arbitrary<Value<Choices[number]>>
}

/** A choice of `oneof` with its weight. */
export interface Weighted<A> {
  readonly weight: number
  readonly arbitrary: Arbitrary.Arbitrary<A>
}

/** `undefined` one time in six, else a value of `arbitrary`. */
export const option = <A>(arbitrary: Arbitrary.Arbitrary<A>): Arbitrary.Arbitrary<A | undefined> =>
  oneof({ weight: 1, arbitrary: constant(undefined) }, { weight: 5, arbitrary })

/** A record with each of `fields` present or absent. */
export const partialRecord = <Fields extends Record<string, Arbitrary.Arbitrary<unknown>>>(
  fields: Fields
): Arbitrary.Arbitrary<{ [K in keyof Fields]?: Value<Fields[K]> }> =>
  Arbitrary.all(
    Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, option(Arbitrary.map(field, (v) => [v]))]))
  ).pipe(
    Arbitrary.map((present) =>
      Object.fromEntries(
        Object.entries(present).flatMap(([key, value]) =>
          value === undefined ? [] : [[key, (value as ReadonlyArray<unknown>)[0]]]
        )
      ) as { [K in keyof Fields]?: Value<Fields[K]> }
    )
  )
