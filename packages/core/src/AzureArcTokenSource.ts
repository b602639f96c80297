/**
 * Tokens from the Azure Arc agent (Arc-enabled servers): a `401` Basic challenge names a key file the agent wrote
 * into its tokens directory, and the token request is repeated with that file's content as the credential.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Environment from "./internal/environment.js"
import * as Selector from "./internal/selector.js"
import * as TokenEndpoint from "./internal/tokenEndpoint.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import {
  AzureArcChallengeFailed,
  IdentityNotConfirmed,
  type ManagedIdentityError,
  TokenRequestFailed
} from "./ManagedIdentityError.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion = "2020-06-01"

/**
 * The agent's endpoint when `IDENTITY_ENDPOINT` is not set (Arc detected by its `himds` binary).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultEndpoint = "http://localhost:40342/metadata/identity/oauth2/token"

/**
 * Where the agent writes key files on Linux.
 *
 * @since 0.1.0
 * @category constants
 */
export const linuxKeyDirectory = "/var/opt/azcmagent/tokens"

/**
 * Larger key files are refused before they are read.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxKeyFileBytes = 4096

/**
 * The default retry policy of Azure Arc. One attempt is the whole two-step exchange.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = RetryPolicy.defaultPolicy

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenEndpoint.TimingOptions {
  /** `IDENTITY_ENDPOINT`: an http URL on a loopback host (default {@link defaultEndpoint}). */
  readonly endpoint?: string | undefined
  /**
   * The directory holding the agent's key files. Default: `/var/opt/azcmagent/tokens` on Linux,
   * `%ProgramData%\AzureConnectedMachineAgent\Tokens` on Windows (`ProgramData` read through `Config`); other
   * platforms have no default. Set it for tests and the emulator.
   */
  readonly keyDirectory?: string | undefined
  /** The operating system, as Node's `process.platform` names it (`"linux"`, `"win32"`, …). */
  readonly platform?: string | undefined
}

const selectorNames: Selector.SelectorNames = { ClientId: "client_id", ResourceId: "msi_res_id", ObjectId: "object_id" }

interface KeyDirectory {
  readonly path: string
  readonly separator: string
}

const challengeFailed = (reason: string) => new AzureArcChallengeFailed({ source: "AzureArc", reason })

const keyDirectory = (
  options: Options
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

const realmOf = (received: TokenEndpoint.Received): Either.Either<string, AzureArcChallengeFailed> => {
  const header = received.headers["www-authenticate"]
  if (header === undefined) return Either.left(challengeFailed("the 401 answer has no WWW-Authenticate header"))
  const parts = header.split("=")
  return parts.length === 2 && parts[0].toLowerCase() === "basic realm"
    ? Either.right(parts[1].trim())
    : Either.left(challengeFailed(`the WWW-Authenticate header is not "Basic realm=<path>": ${JSON.stringify(header)}`))
}

const keyFileName = (realm: string): Either.Either<string, AzureArcChallengeFailed> => {
  const base = realm.split(/[\\/]/).pop() ?? ""
  if (base === "" || base === "." || base === "..") {
    return Either.left(challengeFailed(`the challenge realm ${JSON.stringify(realm)} names no file`))
  }
  const dot = base.lastIndexOf(".")
  const stem = dot > 0 && !/^\.*$/.test(base.slice(0, dot)) ? base.slice(0, dot) : base
  return Either.right(`${stem}.key`)
}

const readKey = (
  fs: FileSystem.FileSystem,
  path: string
): Effect.Effect<Redacted.Redacted<string>, AzureArcChallengeFailed> =>
  fs.readLink(path).pipe(
    Effect.matchEffect({
      onSuccess: () => Effect.fail(challengeFailed(`the key file ${path} is a symbolic link`)),
      onFailure: () =>
        Effect.mapError(
          fs.stat(path),
          (error) =>
            challengeFailed(
              error._tag === "SystemError" && error.reason === "NotFound"
                ? `the key file ${path} does not exist`
                : `the key file ${path} cannot be read: ${error.message}`
            )
        )
    }),
    Effect.filterOrFail(
      (info) => info.type === "File",
      (info) => challengeFailed(`the key file ${path} is not a regular file (${info.type})`)
    ),
    Effect.filterOrFail(
      (info) => info.size <= BigInt(maxKeyFileBytes),
      (info) => challengeFailed(`the key file ${path} is larger than ${maxKeyFileBytes} bytes (${info.size} bytes)`)
    ),
    Effect.flatMap(() =>
      Effect.mapError(fs.readFile(path), (error) =>
        challengeFailed(`the key file ${path} cannot be read: ${error.message}`))
    ),
    Effect.flatMap((bytes) =>
      bytes.length === 0
        ? Effect.fail(challengeFailed(`the key file ${path} is empty`))
        : Effect.succeed(Redacted.make(new TextDecoder().decode(bytes)))
    )
  )

const confirmIdentity = (
  identity: ManagedIdentity.Identity,
  body: TokenEndpoint.TokenBody
): Either.Either<void, IdentityNotConfirmed> => {
  if (identity._tag === "SystemAssigned") return Either.void
  const echoed = identity._tag === "ClientId"
    ? [["client_id", body.client_id]]
    : identity._tag === "ObjectId"
    ? [["object_id", body.object_id]]
    : [["msi_res_id", body.msi_res_id], ["mi_res_id", body.mi_res_id]]
  const present = echoed.filter((entry): entry is [string, string] => entry[1] !== undefined)
  if (present.some(([, value]) => value.toLowerCase() === identity.id.toLowerCase())) return Either.void
  return Either.left(
    new IdentityNotConfirmed({
      source: "AzureArc",
      expected: `${selectorNames[identity._tag]}=${identity.id}`,
      ...(present.length === 0 ? {} : { received: `${present[0][0]}=${present[0][1]}` })
    })
  )
}

/**
 * Builds the source. Each attempt is the whole exchange: the challenge request (`Metadata: true`, no credential),
 * which must be answered `401` with `WWW-Authenticate: Basic realm=<path>`; the key file named by the realm's base
 * name with its extension replaced by `.key`, inside the key directory (the realm's directory is ignored); the same
 * request again with `Authorization: Basic <key>`. A first answer that is not `401` is a `TokenRequestFailed`: an
 * error status carries the body's error; a success carries no body (it is not a challenge, and it may hold a
 * token) and is not accepted. For a user-assigned identity the token body must echo the identity, else
 * `IdentityNotConfirmed`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  TokenSource.TokenSource.Service,
  ConfigError.ConfigError,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity | FileSystem.FileSystem
> =>
  Effect.map(
    Effect.all([HttpClient.HttpClient, ManagedIdentity.ManagedIdentity, FileSystem.FileSystem, keyDirectory(options)]),
    ([client, identity, fs, directory]) => {
      const endpoint: TokenEndpoint.Endpoint = { kind: "AzureArc", url: options.endpoint ?? defaultEndpoint }

      const challenge = (received: TokenEndpoint.Received): Effect.Effect<string, ManagedIdentityError> => {
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
        return Effect.flatMap(
          Clock.currentTimeMillis,
          (now) => Effect.fail(TokenEndpoint.failedAnswer(endpoint, received, now))
        )
      }

      return TokenSource.make({
        kind: "AzureArc",
        identity,
        capabilities: TokenSource.noCapabilities,
        getToken: (request) =>
          Effect.flatMap(
            Effect.all([
              TokenEndpoint.secretEndpoint("AzureArc", "IDENTITY_ENDPOINT", endpoint.url, { pinned: false }),
              directory
            ]),
            ([url, keys]) => {
              const challengeRequest = HttpClientRequest.get(url, {
                urlParams: {
                  "api-version": apiVersion,
                  resource: request.resource,
                  ...Selector.selectorParams(identity, selectorNames)
                },
                headers: { Metadata: "true" }
              })
              return TokenEndpoint.withRetries(endpoint, options, (attempt) =>
                TokenEndpoint.exchange(client, endpoint, attempt, challengeRequest).pipe(
                  Effect.flatMap(challenge),
                  Effect.flatMap(keyFileName),
                  Effect.flatMap((fileName) => readKey(fs, `${keys.path}${keys.separator}${fileName}`)),
                  Effect.flatMap((key) =>
                    TokenEndpoint.exchange(
                      client,
                      endpoint,
                      attempt,
                      HttpClientRequest.setHeader(challengeRequest, "Authorization", `Basic ${Redacted.value(key)}`)
                    )
                  ),
                  Effect.flatMap((received) =>
                    TokenEndpoint.decodeAnswer(endpoint, received, request.resource)
                  ),
                  Effect.flatMap(({ body, token }) => Either.map(confirmIdentity(identity, body), () => token))
                ))
            }
          )
      })
    }
  )

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  TokenSource.TokenSource,
  ConfigError.ConfigError,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity | FileSystem.FileSystem
> => Layer.effect(TokenSource.TokenSource, make(options))

/**
 * Reads `IDENTITY_ENDPOINT` through `Config` (default {@link defaultEndpoint}); the platform and key directory come
 * from `options`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<Options, "endpoint"> = {}
): Layer.Layer<
  TokenSource.TokenSource,
  ConfigError.ConfigError,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity | FileSystem.FileSystem
> =>
  Layer.effect(
    TokenSource.TokenSource,
    Effect.flatMap(
      Environment.optional("IDENTITY_ENDPOINT"),
      (endpoint) => make({ ...options, endpoint: Option.getOrUndefined(endpoint) })
    )
  )
