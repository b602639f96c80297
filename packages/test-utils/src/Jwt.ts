/** Reading the JWTs the emulator issues (signed or not) without verifying them, as the library reads claims. */
import * as Redacted from "effect/Redacted"

const decodePart = (part: string): any => JSON.parse(Buffer.from(part, "base64url").toString("utf8"))

/** The three parts of a JWT: header and claims decoded, the signature as sent. */
export const decodeJwt = (token: string) => {
  const [header, claims, signature] = token.split(".")
  return { header: decodePart(header), claims: decodePart(claims), signature }
}

/** The claims of a JWT. */
export const claimsOf = (token: string | Redacted.Redacted<string>): any =>
  decodeJwt(Redacted.isRedacted(token) ? Redacted.value(token) : token).claims
