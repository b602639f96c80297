import * as Either from "effect/Either"
import type * as ManagedIdentity from "../ManagedIdentity.js"
import { InvalidIdentity } from "../ManagedIdentityError.js"
import type { SourceKind } from "./sourceKind.js"

const isLoopbackOrLinkLocal = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
  /^169\.254\.\d{1,3}\.\d{1,3}$/.test(hostname)

const parse = (kind: SourceKind, variable: string, value: string): Either.Either<URL, InvalidIdentity> =>
  Either.try({
    try: () => new URL(value),
    catch: () => new InvalidIdentity({ source: kind, reason: `${variable} is not a URL` })
  })

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

/** Parses an endpoint that receives no secret: any `http` or `https` URL. */
export const publicEndpoint = (
  kind: SourceKind,
  variable: string,
  value: string
): Either.Either<URL, InvalidIdentity> => {
  const invalid = () => new InvalidIdentity({ source: kind, reason: `${variable} is not an http or https URL` })
  return Either.try({ try: () => new URL(value), catch: invalid }).pipe(
    Either.filterOrLeft((url) => url.protocol === "http:" || url.protocol === "https:", invalid)
  )
}

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
