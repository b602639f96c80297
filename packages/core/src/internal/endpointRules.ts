import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type * as ManagedIdentity from "../ManagedIdentity.js"
import { InvalidIdentity } from "../ManagedIdentityError.js"
import type { SourceKind } from "./sourceKind.js"

const isLoopbackOrLinkLocal = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
  /^169\.254\.\d{1,3}\.\d{1,3}$/.test(hostname)

/** Parses an endpoint URL; one holding a user name or password is refused (its value is never shown). */
const parse = (
  kind: SourceKind,
  variable: string,
  value: string,
  expected = "a URL"
): Either.Either<URL, InvalidIdentity> =>
  Either.try({
    try: () => new URL(value),
    catch: () => new InvalidIdentity({ source: kind, reason: `${variable} is not ${expected}` })
  }).pipe(
    Either.filterOrLeft(
      (url) => url.username === "" && url.password === "",
      () => new InvalidIdentity({ source: kind, reason: `${variable} must not hold a user name or password` })
    )
  )

/**
 * Parses an endpoint URL and checks that a secret may be sent there: `http` only to loopback or link-local hosts;
 * `https` only when the caller pins the certificate (Service Fabric).
 */
export const secretEndpoint = (
  kind: SourceKind,
  variable: string,
  value: string,
  options: { readonly pinned: boolean }
): Either.Either<URL, InvalidIdentity> =>
  Either.flatMap(parse(kind, variable, value), (url) => {
    if (options.pinned) {
      return url.protocol === "https:" ? Either.right(url) : Either.left(
        new InvalidIdentity({ source: kind, reason: `${variable} must be an https URL, got ${url.protocol}//` })
      )
    }
    return url.protocol === "http:" && isLoopbackOrLinkLocal(url.hostname)
      ? Either.right(url)
      : Either.left(
        new InvalidIdentity({
          source: kind,
          reason:
            `refusing to send the secret to ${url.protocol}//${url.host}: ${variable} must be an http URL on a loopback or link-local host`
        })
      )
  })

/** Parses an endpoint that receives no secret: any `http` or `https` URL without a user name or password. */
export const publicEndpoint = (
  kind: SourceKind,
  variable: string,
  value: string
): Either.Either<URL, InvalidIdentity> => {
  const expected = "an http or https URL"
  return Either.flatMap(
    parse(kind, variable, value, expected),
    (url) =>
      url.protocol === "http:" || url.protocol === "https:"
        ? Either.right(url)
        : Either.left(new InvalidIdentity({ source: kind, reason: `${variable} is not ${expected}` }))
  )
}

/**
 * Whether `value` can be sent as a header value as it is: no CR, LF or NUL (which would end or split the header) and
 * nothing beyond Latin-1 (which `fetch` refuses).
 */
export const isHeaderSafe = (value: string): boolean => /^[^\r\n\0\u0100-\uffff]*$/.test(value)

/** Checks that a secret can be sent in a header; the message names the variable, never the value. */
export const secretHeader = (
  kind: SourceKind,
  variable: string,
  value: Redacted.Redacted<string>
): Either.Either<Redacted.Redacted<string>, InvalidIdentity> =>
  isHeaderSafe(Redacted.value(value)) ? Either.right(value) : Either.left(
    new InvalidIdentity({
      source: kind,
      reason: `${variable} holds a character a header cannot carry (CR, LF, NUL or beyond Latin-1)`
    })
  )

/** Accepts `identity` if the source can take its kind, else the `InvalidIdentity` saying it cannot. */
export const acceptIdentity = (
  kind: SourceKind,
  identity: ManagedIdentity.Identity,
  accepted: ReadonlyArray<ManagedIdentity.Identity["_tag"]>
): Either.Either<ManagedIdentity.Identity, InvalidIdentity> =>
  accepted.includes(identity._tag) ? Either.right(identity) : Either.left(
    new InvalidIdentity({
      source: kind,
      reason: `a user-assigned identity (selected by ${identity._tag}) cannot be used with this source`
    })
  )
