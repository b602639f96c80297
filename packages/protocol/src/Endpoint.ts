/**
 * Where a request may go, and what it may carry: the endpoint and secret rules every source applies before anything is
 * sent, and the form of a URL that messages, logs and spans may show.
 *
 * @since 0.1.0
 */
import * as Host from "./Host.js"
import * as Problem from "./Problem.js"
import * as Result from "./Result.js"
import type { SourceKind } from "./SourceKind.js"

/**
 * The URL as messages, logs and spans show it: scheme, host, port and path only. A user name, password, query
 * (`?sig=…`) or fragment never appears.
 *
 * @since 0.1.0
 * @category formatting
 */
export const displayUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`
  } catch {
    return "(not a URL)"
  }
}

/** The hosts a secret may go to over `http`: loopback, or IPv4 link-local (IMDS's `169.254.0.0/16`). */
const isSecretHost = (hostname: string): boolean => Host.isLoopback(hostname) || Host.isLinkLocalIpv4(hostname)

/** Parses an endpoint URL; one holding a user name or password is refused (its value is never shown). */
const parse = (
  kind: SourceKind,
  variable: string,
  value: string,
  expected = "a URL"
): Result.Result<URL, Problem.InvalidIdentity> => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return Result.err(Problem.invalidIdentity(kind, `${variable} is not ${expected}`))
  }
  return url.username === "" && url.password === ""
    ? Result.ok(url)
    : Result.err(Problem.invalidIdentity(kind, `${variable} must not hold a user name or password`))
}

/**
 * Parses an endpoint URL and checks that a secret may be sent there: `http` only to loopback or link-local hosts;
 * `https` only when the caller pins the certificate (Service Fabric).
 *
 * @since 0.1.0
 * @category constructors
 */
export const secretEndpoint = (
  kind: SourceKind,
  variable: string,
  value: string,
  options: { readonly pinned: boolean }
): Result.Result<URL, Problem.InvalidIdentity> =>
  Result.flatMap(parse(kind, variable, value), (url) => {
    if (options.pinned) {
      return url.protocol === "https:" ? Result.ok(url) : Result.err(
        Problem.invalidIdentity(kind, `${variable} must be an https URL, got ${url.protocol}//`)
      )
    }
    return url.protocol === "http:" && isSecretHost(url.hostname)
      ? Result.ok(url)
      : Result.err(
        Problem.invalidIdentity(
          kind,
          `refusing to send the secret to ${url.protocol}//${url.host}: ${variable} must be an http URL on a loopback or link-local host`
        )
      )
  })

/**
 * Parses an endpoint that receives no secret: any `http` or `https` URL without a user name or password.
 *
 * @since 0.1.0
 * @category constructors
 */
export const publicEndpoint = (
  kind: SourceKind,
  variable: string,
  value: string
): Result.Result<URL, Problem.InvalidIdentity> => {
  const expected = "an http or https URL"
  return Result.flatMap(
    parse(kind, variable, value, expected),
    (url) =>
      url.protocol === "http:" || url.protocol === "https:"
        ? Result.ok(url)
        : Result.err(Problem.invalidIdentity(kind, `${variable} is not ${expected}`))
  )
}

/**
 * Whether `value` can be sent as a header value as it is: no CR, LF or NUL (which would end or split the header) and
 * nothing beyond Latin-1 (which `fetch` refuses).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isHeaderSafe = (value: string): boolean => /^[^\r\n\0\u0100-\uffff]*$/.test(value)

/**
 * Checks that a secret can be sent in a header; the reason names the variable, never the value.
 *
 * @since 0.1.0
 * @category constructors
 */
export const secretHeader = (
  kind: SourceKind,
  variable: string,
  value: string
): Result.Result<string, Problem.InvalidIdentity> =>
  isHeaderSafe(value) ? Result.ok(value) : Result.err(
    Problem.invalidIdentity(
      kind,
      `${variable} holds a character a header cannot carry (CR, LF, NUL or beyond Latin-1)`
    )
  )
