/**
 * The `TokenSource` service: one uncached round trip (retries included) to one managed identity endpoint.
 *
 * @since 0.1.0
 */
import type * as FileRead from "@managed-identity/protocol/FileRead"
import * as Lifetime from "@managed-identity/protocol/Lifetime"
import * as Source from "@managed-identity/protocol/Source"
import * as SourceKinds from "@managed-identity/protocol/SourceKind"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as FileReaderRules from "./internal/source/fileReader.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import type { ManagedIdentityError } from "./ManagedIdentityError.js"
import type * as RetryPolicy from "./RetryPolicy.js"
import type { TokenRequest } from "./TokenRequest.js"

/**
 * The hosts a token can come from.
 *
 * @since 0.1.0
 * @category models
 */
export const SourceKind = Schema.Literals(SourceKinds.kinds)

/**
 * @since 0.1.0
 * @category models
 */
export type SourceKind = typeof SourceKind.Type

/**
 * The hosts detection can find: every {@link SourceKind} but `FederatedCredential` (a managed identity as a federated
 * credential of an application), which a program asks for with `FederatedCredentialTokenSource`.
 *
 * @since 0.1.0
 * @category models
 */
export const DetectedKind = Schema.Literals(SourceKinds.detectedKinds)

/**
 * @since 0.1.0
 * @category models
 */
export type DetectedKind = typeof DetectedKind.Type

/**
 * Each source's name as people write it, for messages, the CLI and the demo.
 *
 * @since 0.1.0
 * @category models
 */
export const titles: { readonly [K in SourceKind]: string } = SourceKinds.titles

/**
 * A token as an endpoint issued it, before the client caches it.
 *
 * `refreshOn` is set for lifetimes of at least 7200 s: issue time plus half the lifetime.
 *
 * @since 0.1.0
 * @category models
 */
export interface IssuedToken {
  readonly token: Redacted.Redacted<string>
  readonly tokenType: string
  readonly resource: string
  readonly expiresOn: DateTime.Utc
  readonly refreshOn: Option.Option<DateTime.Utc>
}

/**
 * What a source can do beyond a plain token request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Capabilities extends Source.Capabilities {
  /** The source accepts `token_sha256_to_refresh` on a claims request (token revocation). */
  readonly tokenRevocation: boolean
  /** The source accepts client capabilities (`xms_cc`). */
  readonly clientCapabilities: boolean
}

/**
 * The timing options every source layer takes.
 *
 * @since 0.1.0
 * @category models
 */
export interface TimingOptions {
  /**
   * Replaces the source's retry timing and count (what the source never retries stays unretried, `Retry-After`
   * is still honoured); `RetryPolicy.none` disables retries. Default: the source's own `retryPolicy`.
   */
  readonly retrySchedule?: RetryPolicy.RetryPolicy | undefined
  /** Time allowed for one attempt (default 10 s). */
  readonly attemptTimeout?: Duration.Input | undefined
  /** Time allowed for one `getToken`, all attempts and delays included (default 100 s). */
  readonly deadline?: Duration.Input | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenSource
  extends Context.Service<TokenSource, TokenSource.Service>()("@managed-identity/effect4/TokenSource")
{}

/**
 * @since 0.1.0
 */
export declare namespace TokenSource {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly kind: SourceKind
    readonly identity: ManagedIdentity.Identity
    readonly capabilities: Capabilities
    readonly getToken: (request: TokenRequest) => Effect.Effect<IssuedToken, ManagedIdentityError>
    /**
     * The client id a system-assigned request stands for on this source, when it has one: workload identity's
     * `AZURE_CLIENT_ID`, Azure Machine Learning's `DEFAULT_IDENTITY_CLIENT_ID`. Identity verification reads it.
     */
    readonly defaultClientId?: string | undefined
  }
}

/**
 * How sources read the files a host names: Azure Arc's key file (a symbolic link refused), and AKS workload
 * identity's token file and identity bindings' CA file (links followed: kubelet projects them through links). A reader
 * must open the file once without blocking (so a FIFO cannot stall it), check that the opened file is a regular file
 * of at most `maxBytes` (so a device such as `/dev/zero`, a directory or a huge file is refused unread), and read at
 * most `maxBytes + 1` bytes from it (so a file that grew meanwhile is refused). Without `followLinks` it must not
 * follow a symbolic link at the path, not even one swapped in between.
 *
 * Provide it where the platform can do that: `@managed-identity/platform-node` opens with `O_NONBLOCK` (and
 * `O_NOFOLLOW`) and checks with `fstat`. Without one in context, the sources use {@link makeFileReader} over their
 * `FileSystem`.
 *
 * @since 0.1.0
 * @category tags
 */
export class FileReader
  extends Context.Service<FileReader, FileReader.Service>()("@managed-identity/effect4/TokenSource/FileReader")
{}

/**
 * @since 0.1.0
 */
export declare namespace FileReader {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** The content of the regular file at `path`, at most `options.maxBytes` bytes, or why it was not read. */
    readonly read: (path: string, options: Options) => Effect.Effect<Uint8Array, Failure>
  }

  /**
   * At most `maxBytes` bytes; `followLinks` (default `false`) allows a symbolic link at the path.
   *
   * @since 0.1.0
   * @category models
   */
  export type Options = FileRead.Options

  /**
   * Why a file was not read: `NotFound`, `SymbolicLink`, `NotAFile`, `TooLarge` or `Unreadable`. `detail` is what
   * the platform said about a file that cannot be read, never its content.
   *
   * @since 0.1.0
   * @category models
   */
  export type Failure = FileRead.Failure
}

/**
 * A {@link FileReader} over `FileSystem`, as far as its interface allows: a symbolic link is refused unless
 * `followLinks`, the path must name a regular file of at most `maxBytes` before it is opened (so a FIFO is never
 * opened), the opened file is checked again, and at most `maxBytes + 1` bytes are read from it. `FileSystem.open` can
 * neither refuse a link nor open without blocking, so a path swapped in between the checks and the open is still
 * opened: prefer the platform's reader.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFileReader = (fs: FileSystem.FileSystem): FileReader.Service =>
  FileReader.of({ read: FileReaderRules.fromFileSystem(fs) })

/**
 * The {@link FileReader} in context, else {@link makeFileReader} over the `FileSystem`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fileReader = (fs: FileSystem.FileSystem): Effect.Effect<FileReader.Service> =>
  Effect.map(Effect.serviceOption(FileReader), Option.getOrElse(() => makeFileReader(fs)))

/**
 * No capabilities beyond a plain token request.
 *
 * @since 0.1.0
 * @category constructors
 */
export const noCapabilities: Capabilities = Source.noCapabilities

/**
 * Builds an `IssuedToken` received at `issuedAt` and expiring at `expiresOn`, applying the half-life refresh
 * rule: a lifetime of at least 7200 s gets `refreshOn = issuedAt + floor(lifetime / 2)`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const issuedToken = (options: {
  readonly token: Redacted.Redacted<string>
  readonly tokenType?: string | undefined
  readonly resource: string
  readonly issuedAt: DateTime.Utc
  readonly expiresOn: DateTime.Utc
}): IssuedToken => {
  const refreshOn = Lifetime.refreshOn(options.issuedAt.epochMilliseconds, options.expiresOn.epochMilliseconds)
  return {
    token: options.token,
    tokenType: options.tokenType ?? "Bearer",
    resource: options.resource,
    expiresOn: options.expiresOn,
    refreshOn: refreshOn === undefined ? Option.none() : Option.some(DateTime.makeUnsafe(refreshOn))
  }
}

/**
 * Options of {@link layerTest}.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestOptions {
  readonly kind?: SourceKind | undefined
  readonly identity?: ManagedIdentity.Identity | undefined
  readonly capabilities?: Capabilities | undefined
  /** The client id a system-assigned request stands for (workload identity's `AZURE_CLIENT_ID`); default none. */
  readonly defaultClientId?: string | undefined
  /** Lifetime of the default tokens (default one hour). */
  readonly lifetime?: Duration.Input | undefined
  /** Answers each request; by default a token `test-token:<resource>:<n>` with `lifetime`. */
  readonly getToken?: ((request: TokenRequest) => Effect.Effect<IssuedToken, ManagedIdentityError>) | undefined
}

/**
 * A `TokenSource` for tests: fixed tokens by default, or any scripted answer. It reads the time from `Clock`, so
 * `TestClock` drives expiry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (options: TestOptions = {}): Layer.Layer<TokenSource> =>
  Layer.sync(TokenSource, () => {
    const lifetime = Duration.fromInputUnsafe(options.lifetime ?? Duration.hours(1))
    let issued = 0
    const defaultGetToken = (request: TokenRequest) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        issuedToken({
          token: Redacted.make(`test-token:${request.resource}:${++issued}`),
          resource: request.resource,
          issuedAt: DateTime.makeUnsafe(now),
          expiresOn: DateTime.makeUnsafe(now + Duration.toMillis(lifetime))
        }))
    return TokenSource.of({
      kind: options.kind ?? "Imds",
      identity: options.identity ?? ManagedIdentity.systemAssigned,
      capabilities: options.capabilities ?? noCapabilities,
      getToken: options.getToken ?? defaultGetToken,
      defaultClientId: options.defaultClientId
    })
  })
