/** The environment variables sources read, through `Config`: a set but empty variable counts as unset. */
import * as Config from "effect/Config"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/** A variable read through `Config`; set but empty counts as unset (PROTOCOL.md). */
export const optional = (name: string): Config.Config<Option.Option<string>> =>
  Config.String(name).pipe(
    Config.option,
    Config.map(Option.filter((value: string) => value.trim() !== ""))
  )

/** A required variable; empty counts as missing. */
export const required = (name: string): Config.Config<string> => Config.NonEmptyString(name)

/** A required secret variable, `Redacted` from the moment it is read. */
export const requiredSecret = (name: string): Config.Config<Redacted.Redacted<string>> =>
  Config.map(Config.NonEmptyString(name), (value) => Redacted.make(value))

/** An optional variable's value, `undefined` when unset or empty. */
export const optionalValue = (name: string): Config.Config<string | undefined> =>
  Config.map(optional(name), Option.getOrUndefined)
