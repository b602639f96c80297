/**
 * A token's lifetime: the accepted forms of `expires_in` and `expires_on`, the one-year cap, and the half-life rule
 * that gives a long-lived token its refresh time. Dates are parsed with integer arithmetic, never `Date`.
 *
 * @since 0.1.0
 */

/**
 * The longest lifetime accepted: an expiry more than a year after issue is not a token (a millisecond timestamp read
 * as seconds lands there).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxLifetimeSeconds = 365 * 24 * 60 * 60

/**
 * The lifetime from which a token gets a refresh time.
 *
 * @since 0.1.0
 * @category constants
 */
export const refreshThresholdSeconds = 7200

const digitString = /^\d+$/
const isoDate = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/
const appServiceDate = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2}):(\d{2})$/

/** Days from 1970-01-01 to a proleptic Gregorian date (integer arithmetic, no `Date`). */
const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146097 + dayOfEra - 719468
}

const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
    : [4, 6, 9, 11].includes(month)
    ? 30
    : 31

/** Epoch seconds of a calendar date and time at an offset, if every field is in range. */
const epochSecondsOf = (fields: {
  readonly year: string
  readonly month: string
  readonly day: string
  readonly hours: string
  readonly minutes: string
  readonly seconds: string
  readonly offsetSign: string
  readonly offsetHours: string
  readonly offsetMinutes: string
}): number | undefined => {
  const [year, month, day, hours, minutes, seconds, offsetHours, offsetMinutes] = [
    fields.year,
    fields.month,
    fields.day,
    fields.hours,
    fields.minutes,
    fields.seconds,
    fields.offsetHours,
    fields.offsetMinutes
  ].map(Number)
  const valid = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hours <= 23 &&
    minutes <= 59 && seconds <= 59 && offsetHours <= 23 && offsetMinutes <= 59
  if (!valid) return undefined
  const offset = (offsetHours * 60 + offsetMinutes) * 60 * (fields.offsetSign === "-" ? -1 : 1)
  return daysFromCivil(year, month, day) * 86400 + hours * 3600 + minutes * 60 + seconds - offset
}

/** `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, fraction dropped. */
const parseIsoDate = (text: string): number | undefined => {
  const match = isoDate.exec(text)
  if (match === null) return undefined
  const [, year, month, day, hours, minutes, seconds, zulu, sign, offsetHours, offsetMinutes] = match
  return epochSecondsOf({
    year,
    month,
    day,
    hours,
    minutes,
    seconds,
    offsetSign: zulu === undefined ? sign : "+",
    offsetHours: zulu === undefined ? offsetHours : "00",
    offsetMinutes: zulu === undefined ? offsetMinutes : "00"
  })
}

/** Older App Service versions: `MM/DD/YYYY HH:MM:SS ±HH:MM`. */
const parseAppServiceDate = (text: string): number | undefined => {
  const match = appServiceDate.exec(text)
  if (match === null) return undefined
  const [, month, day, year, hours, minutes, seconds, offsetSign, offsetHours, offsetMinutes] = match
  return epochSecondsOf({ year, month, day, hours, minutes, seconds, offsetSign, offsetHours, offsetMinutes })
}

/**
 * `expires_in`: whole seconds, a JSON integer or a digit string (`"86399"`); how large it may be is checked later.
 * `undefined` for anything else.
 *
 * @since 0.1.0
 * @category parsing
 */
export const seconds = (value: unknown): number | undefined =>
  typeof value === "number"
    ? Number.isSafeInteger(value) && value >= 0 ? value : undefined
    : typeof value === "string" && digitString.test(value)
    ? Number(value)
    : undefined

/**
 * `expires_on`, as epoch seconds: a JSON integer or a digit string, an ISO-8601 date with seconds and an offset, or
 * App Service's `MM/DD/YYYY HH:MM:SS ±HH:MM`; every date field must be in range. `undefined` for anything else.
 *
 * @since 0.1.0
 * @category parsing
 */
export const epochSeconds = (value: unknown): number | undefined =>
  seconds(value) ?? (typeof value === "string" ? parseIsoDate(value) ?? parseAppServiceDate(value) : undefined)

/**
 * When a token issued at `issuedAt` and expiring at `expiresOn` (epoch milliseconds) is due for refresh: a lifetime
 * of at least 7200 s gets `issuedAt + floor(lifetime / 2)`; a shorter one none (`undefined`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const refreshOn = (issuedAt: number, expiresOn: number): number | undefined => {
  const lifetimeSeconds = Math.floor((expiresOn - issuedAt) / 1000)
  return lifetimeSeconds >= refreshThresholdSeconds ? issuedAt + Math.floor(lifetimeSeconds / 2) * 1000 : undefined
}
