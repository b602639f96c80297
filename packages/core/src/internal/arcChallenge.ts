import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { AzureArcChallengeFailed, type ManagedIdentityError, TokenRequestFailed } from "../ManagedIdentityError.js"
import * as EndpointRules from "./endpointRules.js"
import * as Environment from "./environment.js"
import * as FileReader from "./fileReader.js"
import type { Received } from "./transport.js"
import * as Wire from "./wire.js"

/** Where the agent writes key files on Linux. */
export const linuxKeyDirectory = "/var/opt/azcmagent/tokens"

/** Larger key files are refused before they are read. */
export const maxKeyFileBytes = 4096

interface KeyDirectory {
  readonly path: string
  readonly separator: string
}

const challengeFailed = (reason: string) => new AzureArcChallengeFailed({ source: "AzureArc", reason })

export const keyDirectory = (
  options: { readonly keyDirectory?: string | undefined; readonly platform?: string | undefined }
): Effect.Effect<Either.Either<KeyDirectory, AzureArcChallengeFailed>, ConfigError.ConfigError> => {
  const separator = options.platform === "win32" ? "\\" : "/"
  if (options.keyDirectory !== undefined) {
    return Effect.succeed(Either.right({ path: options.keyDirectory.replace(/[\\/]+$/, ""), separator }))
  }
  if (options.platform === "linux") return Effect.succeed(Either.right({ path: linuxKeyDirectory, separator }))
  if (options.platform === "win32") {
    return Effect.map(Environment.optional("ProgramData"), (programData) =>
      Option.match(programData, {
        onNone: () =>
          Either.left(challengeFailed("ProgramData is not set, so the agent's tokens directory cannot be found")),
        onSome: (directory) =>
          Either.right({
            path: `${directory.replace(/[\\/]+$/, "")}\\AzureConnectedMachineAgent\\Tokens`,
            separator
          })
      }))
  }
  return Effect.succeed(Either.left(challengeFailed(
    `key files are only supported on Linux and Windows, not on ${options.platform ?? "an unknown platform"}`
  )))
}

const realmOf = (received: Received): Either.Either<string, AzureArcChallengeFailed> => {
  const header = received.headers["www-authenticate"]
  if (header === undefined) return Either.left(challengeFailed("the 401 answer has no WWW-Authenticate header"))
  const parts = header.split("=")
  return parts.length === 2 && parts[0].toLowerCase() === "basic realm"
    ? Either.right(parts[1].trim())
    : Either.left(challengeFailed(`the WWW-Authenticate header is not "Basic realm=<path>"`))
}

export const keyFileName = (realm: string): Either.Either<string, AzureArcChallengeFailed> => {
  const base = realm.split(/[\\/]/).pop() ?? ""
  if (base === "" || base === "." || base === "..") {
    return Either.left(challengeFailed("the challenge realm names no file"))
  }
  const dot = base.lastIndexOf(".")
  const stem = dot > 0 && !/^\.*$/.test(base.slice(0, dot)) ? base.slice(0, dot) : base
  return Either.right(`${stem}.key`)
}

/**
 * The key at `path`, read by `read`: UTF-8 text of 1 to 4096 bytes that a header can carry (no CR, LF, NUL or
 * character beyond Latin-1). Anything else is an `AzureArcChallengeFailed` naming the file, never its content; it is
 * not retried.
 */
export const readKey = (
  read: FileReader.Read,
  path: string
): Effect.Effect<Redacted.Redacted<string>, AzureArcChallengeFailed> =>
  read(path, { maxBytes: maxKeyFileBytes }).pipe(
    Effect.mapError((failure) =>
      challengeFailed(`the key file ${path} ${FileReader.describe(failure, maxKeyFileBytes)}`)
    ),
    Effect.flatMap((bytes) => {
      let key: string
      try {
        key = new TextDecoder("utf-8", { fatal: true }).decode(bytes)
      } catch {
        return Effect.fail(challengeFailed(`the key file ${path} is not UTF-8 text`))
      }
      if (key.length === 0) return Effect.fail(challengeFailed(`the key file ${path} is empty`))
      return EndpointRules.isHeaderSafe(key) ? Effect.succeed(Redacted.make(key)) : Effect.fail(
        challengeFailed(
          `the key file ${path} holds a character a header cannot carry (CR, LF, NUL or beyond Latin-1)`
        )
      )
    })
  )

/**
 * The realm of the answer to the request without a key, which must be a `401` Basic challenge. Any other answer is a
 * `TokenRequestFailed`: an error status carries the body's error; a success carries no body (it is not a challenge,
 * and it may hold a token).
 */
export const realm = (received: Received): Effect.Effect<string, ManagedIdentityError> => {
  if (received.status === 401) return realmOf(received)
  if (received.status >= 200 && received.status <= 299) {
    return Effect.fail(
      new TokenRequestFailed({
        source: "AzureArc",
        status: received.status,
        description: "expected a 401 Basic challenge to the request without a key, got a success"
      })
    )
  }
  return Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(Wire.failedAnswer("AzureArc", received, now)))
}
