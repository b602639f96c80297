/**
 * Tokens from the Azure Arc agent (Arc-enabled servers): a `401` Basic challenge names a key file the agent wrote
 * into its tokens directory, and the token request is repeated with that file's content as the credential.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as ArcChallenge from "./internal/arcChallenge.js"
import * as EndpointRules from "./internal/endpointRules.js"
import * as Environment from "./internal/environment.js"
import * as HttpSource from "./internal/httpSource.js"
import * as Selector from "./internal/selector.js"
import * as Transport from "./internal/transport.js"
import * as Wire from "./internal/wire.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import { IdentityNotConfirmed } from "./ManagedIdentityError.js"
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
export const linuxKeyDirectory = ArcChallenge.linuxKeyDirectory

/**
 * Larger key files are refused before they are read.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxKeyFileBytes = ArcChallenge.maxKeyFileBytes

/**
 * The retry policy Azure Arc uses unless a `retrySchedule` replaces it. One attempt is the whole two-step exchange.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = RetryPolicy.defaultPolicy

/**
 * The failures Azure Arc retries; a `retrySchedule` never retries anything else.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = RetryPolicy.isRetryableDefault

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenSource.TimingOptions {
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

const confirmIdentity = (
  identity: ManagedIdentity.Identity,
  body: Wire.TokenBody,
  received: Transport.Received
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
      expected: `${Selector.names.AzureArc[identity._tag]}=${identity.id}`,
      ...(present.length === 0 ? {} : { received: `${present[0][0]}=${Wire.answerText(received, present[0][1])}` })
    })
  )
}

/**
 * Builds the source. Each attempt is the whole exchange: the challenge request (`Metadata: true`, no credential), which
 * must be answered `401` with `WWW-Authenticate: Basic realm=<path>`; the key file named by the realm's base name with
 * its extension replaced by `.key`, inside the key directory (the realm's directory is ignored), read by the
 * `TokenSource.FileReader` in context (else `TokenSource.makeFileReader`; no symbolic link, at most 4096 bytes); the
 * same request again with `Authorization: Basic <key>`. A key file that is missing, a symbolic link, not a regular
 * file, over 4096 bytes, empty, not UTF-8, or holding a character a header cannot carry is an
 * `AzureArcChallengeFailed`, not retried. A first answer that is not `401` is a `TokenRequestFailed`: an error status
 * carries the body's error; a success carries no body (it is not a challenge, and it may hold a token) and is not
 * accepted. For a user-assigned identity the token body must echo the identity, else `IdentityNotConfirmed`.
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
    Effect.all([
      HttpClient.HttpClient,
      ManagedIdentity.ManagedIdentity,
      Effect.flatMap(FileSystem.FileSystem, TokenSource.fileReader),
      ArcChallenge.keyDirectory(options)
    ]),
    ([client, identity, reader, directory]) => {
      const url = options.endpoint ?? defaultEndpoint
      const definition: HttpSource.Definition = {
        ...Transport.endpoint("AzureArc", url),
        retryPolicy,
        isRetryable,
        timing: options
      }
      const checked = Either.all([
        EndpointRules.secretEndpoint("AzureArc", "IDENTITY_ENDPOINT", url, { pinned: false }),
        directory
      ]).pipe(Either.map(([endpointUrl, keys]): HttpSource.Exchange => (request) => {
        const challengeRequest = HttpClientRequest.get(endpointUrl, {
          urlParams: {
            "api-version": apiVersion,
            resource: request.resource,
            ...Selector.params("AzureArc", identity)
          },
          headers: { Metadata: "true" }
        })
        return (attempt) =>
          Transport.exchange(client, definition, attempt, challengeRequest).pipe(
            Effect.flatMap(ArcChallenge.realm),
            Effect.flatMap(ArcChallenge.keyFileName),
            Effect.flatMap((fileName) => ArcChallenge.readKey(reader.read, `${keys.path}${keys.separator}${fileName}`)),
            Effect.flatMap((key) =>
              Transport.exchange(
                client,
                definition,
                attempt,
                HttpClientRequest.setHeader(challengeRequest, "Authorization", `Basic ${Redacted.value(key)}`)
              )
            ),
            Effect.flatMap((received) =>
              Effect.flatMap(
                Wire.decodeAnswer("AzureArc", received, request.resource),
                ({ body, token }) => Either.map(confirmIdentity(identity, body, received), () => token)
              )
            )
          )
      }))

      return HttpSource.fromChecked(definition, identity, checked)
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
  Environment.optional("IDENTITY_ENDPOINT").pipe(
    Effect.flatMap((endpoint) => make({ ...options, endpoint: Option.getOrUndefined(endpoint) })),
    Layer.effect(TokenSource.TokenSource)
  )
