/**
 * Claims, read without verifying anything: base64 as claims challenges and JWTs carry it, the identity and time
 * claims of a JWT-shaped token, and a `WWW-Authenticate` challenge's `claims` parameter.
 *
 * @since 0.1.0
 */

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
const codes = new Map(Array.from(alphabet, (character, index) => [character.charCodeAt(0), index]))

/** Standard base64 of a length that is a multiple of 4, `=` only as its last one or two characters. */
const decodeStandard = (text: string): Uint8Array | undefined => {
  const index = text.indexOf("=")
  if (index !== -1 && (index < text.length - 2 || (index === text.length - 2 && text[text.length - 1] !== "="))) {
    return undefined
  }
  const missing = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0
  const bytes = new Uint8Array(3 * (text.length / 4) - missing)
  const code = (at: number) => at >= text.length || text[at] === "=" ? 0 : codes.get(text.charCodeAt(at))
  for (let i = 0, j = 0; i < text.length; i += 4, j += 3) {
    const parts = [code(i), code(i + 1), code(i + 2), code(i + 3)]
    if (parts.some((part) => part === undefined)) return undefined
    const [a, b, c, d] = parts as [number, number, number, number]
    const buffer = (a << 18) | (b << 12) | (c << 6) | d
    bytes[j] = buffer >> 16
    if (j + 1 < bytes.length) bytes[j + 1] = (buffer >> 8) & 0xff
    if (j + 2 < bytes.length) bytes[j + 2] = buffer & 0xff
  }
  return bytes
}

/**
 * Decodes base64 as UTF-8 text (invalid sequences replaced): the standard or the URL-safe alphabet, padded or not,
 * surrounding blanks and line breaks ignored. `undefined` when it is not base64.
 *
 * @since 0.1.0
 * @category parsing
 */
export const decodeBase64 = (encoded: string): string | undefined => {
  const text = encoded.trim().replace(/\+/g, "-").replace(/\//g, "_").replace(/[\n\r]/g, "")
  if (text.length % 4 === 1 || !/^[-_A-Z0-9]*?={0,2}$/i.test(text)) return undefined
  const padded = text.length % 4 === 2 ? `${text}==` : text.length % 4 === 3 ? `${text}=` : text
  const bytes = decodeStandard(padded.replace(/-/g, "+").replace(/_/g, "/"))
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes)
}

/**
 * The claims that say which identity a token is for, and when it was issued; each only when the token has it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Claims {
  readonly oid?: string | undefined
  readonly appid?: string | undefined
  readonly azp?: string | undefined
  readonly tid?: string | undefined
  readonly xms_mirid?: string | undefined
  readonly aud?: string | ReadonlyArray<string> | undefined
  readonly iat?: number | undefined
  readonly exp?: number | undefined
}

const stringClaims = ["oid", "appid", "azp", "tid", "xms_mirid"] as const
const numberClaims = ["iat", "exp"] as const

/** The last second a date (and so a report) can hold a claim time for: 9999-12-31T23:59:59Z. */
const maxEpochSeconds = 253_402_300_799

/** A time claim: whole epoch seconds from 1970 to the year 9999; anything else is not kept. */
const isEpochSeconds = (value: unknown): value is number =>
  Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= maxEpochSeconds

/**
 * The identity and time claims of a JWT-shaped token (three dot-separated parts, the second base64url JSON object),
 * without verifying anything; `undefined` for any other token. Only those claims are kept, and only with their
 * expected types (`iat` and `exp`: whole epoch seconds up to the year 9999, so they always make a date).
 *
 * @since 0.1.0
 * @category parsing
 */
export const read = (token: string): Claims | undefined => {
  const parts = token.split(".")
  if (parts.length !== 3) return undefined
  const json = decodeBase64(parts[1])
  if (json === undefined) return undefined
  let payload: unknown
  try {
    payload = JSON.parse(json)
  } catch {
    return undefined
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return undefined
  const record = payload as Readonly<Record<string, unknown>>
  const claims: Record<string, unknown> = {}
  for (const name of stringClaims) if (typeof record[name] === "string") claims[name] = record[name]
  for (const name of numberClaims) if (isEpochSeconds(record[name])) claims[name] = record[name]
  const aud = record.aud
  if (typeof aud === "string" || (Array.isArray(aud) && aud.every((entry) => typeof entry === "string"))) {
    claims.aud = aud
  }
  return claims as Claims
}

const claimsParameter = /(?:^|[\s,])claims\s*=\s*"([^"]*)"/i

/**
 * The decoded claims of a `WWW-Authenticate` challenge's `claims="<base64>"` parameter (standard or URL-safe base64,
 * padded or not), or `undefined` when the header carries no decodable, non-blank claims.
 *
 * @since 0.1.0
 * @category parsing
 */
export const fromChallenge = (header: string | undefined): string | undefined => {
  const match = header === undefined ? null : claimsParameter.exec(header)
  if (match === null) return undefined
  const claims = decodeBase64(match[1])
  return claims !== undefined && claims.trim() !== "" ? claims : undefined
}
