/**
 * Text taken from an answer for an error field: the secrets its request carried scrubbed out, cut to a bound, and
 * JSON of an unknown shape never shown.
 *
 * @since 0.1.0
 */

/**
 * Answer text kept in an error field is cut to this many characters.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxAnswerText = 2048

/** Shortest run of a secret's characters that is scrubbed where an answer echoes only part of it. */
const minFragment = 32

/** The forms in which an answer may echo `secret`: as sent, percent- or form-encoded, JSON-escaped. */
const echoForms = (secret: string): ReadonlyArray<string> => [
  ...new Set([
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ _: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1)
  ])
]

/**
 * `text` with every run of at least `min(32, length)` characters that also occurs in `form` replaced by
 * `<redacted>`: the whole of it, or a part an answer cut out of it.
 */
const scrubForm = (text: string, form: string): string => {
  const window = Math.min(minFragment, form.length)
  if (window === 0 || text.length < window) return text
  const pieces = new Set<string>()
  for (let start = 0; start + window <= form.length; start++) pieces.add(form.slice(start, start + window))
  const covered = new Uint8Array(text.length)
  let found = false
  for (let start = 0; start + window <= text.length; start++) {
    if (pieces.has(text.slice(start, start + window))) {
      covered.fill(1, start, start + window)
      found = true
    }
  }
  if (!found) return text
  let scrubbed = ""
  for (let index = 0; index < text.length; index++) {
    if (covered[index] === 0) scrubbed += text[index]
    else if (index === 0 || covered[index - 1] === 0) scrubbed += "<redacted>"
  }
  return scrubbed
}

/**
 * `text` from an answer to a request that carried `secrets`: every secret scrubbed out (whole, percent- or
 * form-encoded, JSON-escaped, or any run of 32 of its characters), then cut to {@link maxAnswerText} characters.
 * Every field an answer fills goes through here.
 *
 * @since 0.1.0
 * @category formatting
 */
export const scrub = (secrets: ReadonlyArray<string>, text: string): string => {
  const scrubbed = secrets.reduce((current, secret) => echoForms(secret).reduce(scrubForm, current), text)
  return scrubbed.length > maxAnswerText ? `${scrubbed.slice(0, maxAnswerText)}…` : scrubbed
}

/**
 * An error body that is not a known error shape: plain text (a server's or proxy's own words) is shown; JSON, or
 * what looks like it, is not, since it may hold anything, a token included. `undefined` for a blank body.
 *
 * @since 0.1.0
 * @category formatting
 */
export const excerpt = (text: string): string | undefined => {
  const trimmed = text.trim()
  if (trimmed === "") return undefined
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) return "the body is JSON in no known error shape (not shown)"
  return trimmed
}
