import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import type * as Option from "effect/Option"

/** Decodes base64 claims, standard or URL-safe alphabet, padded or not, as UTF-8 text. */
export const decodeBase64 = (encoded: string): Option.Option<string> =>
  Either.getRight(Encoding.decodeBase64UrlString(encoded.trim().replace(/\+/g, "-").replace(/\//g, "_")))
