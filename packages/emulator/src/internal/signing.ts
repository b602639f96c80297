/**
 * The key the emulator signs its access tokens with, as Entra signs its own: RS256, a `kid` in the header, the public
 * key published as a JWKS by the STS. One key per process, made when its first emulator starts, never written anywhere.
 */
import * as Effect from "effect/Effect"
import { globalValue } from "effect/GlobalValue"
import { createHash, generateKeyPair, type KeyObject, sign } from "node:crypto"
import { promisify } from "node:util"
import { type EmulatorError, failWith } from "./model.js"

/**
 * A public signing key as a JWKS lists it.
 *
 * @internal
 */
export interface PublicJwk {
  readonly kty: "RSA"
  readonly use: "sig"
  readonly alg: "RS256"
  /** The key's RFC 7638 thumbprint (SHA-256, base64url): what a token's `kid` header names. */
  readonly kid: string
  readonly n: string
  readonly e: string
}

/**
 * How a service checks the emulator's access tokens, as it checks Entra's: who issues them and where the keys are.
 *
 * @internal
 */
export interface OpenId {
  /** Every access token's `iss`: `https://sts.windows.net/{tenant}/` (Entra's v1 tokens, `ver: "1.0"`). */
  readonly issuer: string
  /** `{authorityHost}/{tenant}/.well-known/openid-configuration`, naming {@link issuer} and {@link jwksUri}. */
  readonly configurationUrl: string
  /** `{authorityHost}/{tenant}/discovery/keys` (`/discovery/v2.0/keys` serves the same), HTTPS with the STS's CA. */
  readonly jwksUri: string
  /** What {@link jwksUri} serves: the emulator's public key, RS256, its `kid` the key's RFC 7638 thumbprint. */
  readonly jwks: { readonly keys: ReadonlyArray<PublicJwk> }
}

/** @internal */
export interface SigningKey {
  readonly publicJwk: PublicJwk
  readonly privateKey: KeyObject
}

/** RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace. */
const thumbprint = (n: string, e: string): string =>
  createHash("sha256").update(JSON.stringify({ e, kty: "RSA", n })).digest("base64url")

const generate = (): Promise<SigningKey> =>
  promisify(generateKeyPair)("rsa", { modulusLength: 2048 }).then(({ privateKey, publicKey }) => {
    const { e = "", n = "" } = publicKey.export({ format: "jwk" })
    return { privateKey, publicJwk: { kty: "RSA", use: "sig", alg: "RS256", kid: thumbprint(n, e), n, e } }
  })

/**
 * The process's signing key: an RSA key (2048 bits) made when the process starts its first emulator, and shared by
 * every emulator it starts after — as Entra signs every tenant's tokens with the same keys. Made once because making
 * an RSA key takes 0.1 to 0.5 s of CPU, which a key per emulator would add to every start (a test file that starts 29
 * emulators took 20 s instead of 5 s).
 *
 * @internal
 */
export const make: Effect.Effect<SigningKey, EmulatorError> = Effect.tryPromise({
  try: () => globalValue(Symbol.for("@managed-identity/emulator/SigningKey"), generate),
  catch: failWith("Could not make the token signing key")
})

/**
 * JSON as a JWT part: base64url, no padding.
 *
 * @internal
 */
export const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url")

/**
 * A compact JWS of `claims`: header `{ typ: "JWT", alg: "RS256", kid }`, signed with RSASSA-PKCS1-v1_5 SHA-256.
 *
 * @internal
 */
export const signJwt = (key: SigningKey, claims: Readonly<Record<string, unknown>>): string => {
  const input = `${base64url({ typ: "JWT", alg: "RS256", kid: key.publicJwk.kid })}.${base64url(claims)}`
  return `${input}.${sign("sha256", Buffer.from(input), key.privateKey).toString("base64url")}`
}
