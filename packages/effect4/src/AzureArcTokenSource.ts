/**
 * Tokens from the Azure Arc agent (Arc-enabled servers): a `401` Basic challenge names a key file the agent wrote
 * into its tokens directory, and the token request is repeated with that file's content as the credential.
 *
 * @since 0.1.0
 */
import * as AzureArc from "@managed-identity/protocol/sources/AzureArc"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Exchange from "./internal/http/exchange.js"
import * as SourceService from "./internal/http/sourceService.js"
import * as Results from "./internal/result.js"
import * as Environment from "./internal/source/environment.js"
import * as LocalHttpClient from "./LocalHttpClient.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import { fromProblem, type ManagedIdentityError } from "./ManagedIdentityError.js"
import type * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion: string = AzureArc.apiVersion

/**
 * The retry policy Azure Arc uses unless a `retrySchedule` replaces it. One attempt is the whole two-step exchange.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = SourceService.retryRules(AzureArc.facts).retryPolicy

/**
 * The failures Azure Arc retries; a `retrySchedule` never retries anything else.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable: (error: ManagedIdentityError) => boolean =
  SourceService.retryRules(AzureArc.facts).isRetryable

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends TokenSource.TimingOptions {
  /** `IDENTITY_ENDPOINT`: an http URL on a loopback host (default `http://localhost:40342/metadata/identity/oauth2/token`). */
  readonly endpoint?: string | undefined
  /**
   * The directory holding the agent's key files. Default: `/var/opt/azcmagent/tokens` on Linux,
   * `%ProgramData%\AzureConnectedMachineAgent\Tokens` on Windows (see `programData`); other platforms have no default.
   * Set it for tests and the emulator.
   */
  readonly keyDirectory?: string | undefined
  /** The operating system, as Node's `process.platform` names it (`"linux"`, `"win32"`, …). */
  readonly platform?: string | undefined
  /** `ProgramData`, where the Windows agent's directory is when `keyDirectory` is not set (`layerConfig` reads it). */
  readonly programData?: string | undefined
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
  never,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity | FileSystem.FileSystem
> =>
  Effect.gen(function*() {
    const client = yield* LocalHttpClient.routed
    const identity = yield* ManagedIdentity.ManagedIdentity
    const reader = yield* Effect.flatMap(FileSystem.FileSystem, TokenSource.fileReader)
    const url = options.endpoint ?? AzureArc.defaultEndpoint
    const definition = SourceService.definition(AzureArc.facts, url, options)
    const checked = AzureArc.check(url, AzureArc.keyDirectory(options), identity)
    return SourceService.make(definition, identity, checked, (settings) => (request) => (attempt) =>
      Effect.gen(function*() {
        const challenge = yield* Exchange.exchange(client, definition, attempt, AzureArc.request(settings, request))
        const path = yield* Results.toEffect(AzureArc.keyPath(settings, challenge, yield* Clock.currentTimeMillis))
        const bytes = yield* Effect.mapError(
          reader.read(path, { maxBytes: AzureArc.maxKeyFileBytes }),
          (failure) =>
            fromProblem(AzureArc.keyUnread(path, failure))
        )
        const key = yield* Results.toEffect(AzureArc.key(path, bytes))
        const answer = yield* Exchange.exchange(client, definition, attempt, AzureArc.request(settings, request, key))
        const token = yield* SourceService.tokenOf("AzureArc", answer, request.resource)
        yield* Results.toEffect(AzureArc.confirm(identity, token.body, answer))
        return SourceService.issued(token)
      }))
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  TokenSource.TokenSource,
  never,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity | FileSystem.FileSystem
> => Layer.effect(TokenSource.TokenSource, make(options))

/**
 * Reads `IDENTITY_ENDPOINT` (default: the agent's endpoint) and `ProgramData` (for the Windows agent's key directory)
 * through `Config`; the platform and a key directory come from `options`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<Options, "endpoint" | "programData"> = {}
): Layer.Layer<
  TokenSource.TokenSource,
  Config.ConfigError,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity | FileSystem.FileSystem
> =>
  Config.all({
    endpoint: Environment.optionalValue("IDENTITY_ENDPOINT"),
    programData: Environment.optionalValue("ProgramData")
  }).pipe(
    Effect.flatMap((config) => make({ ...options, ...config })),
    Layer.effect(TokenSource.TokenSource)
  )
