/**
 * Tokens from the Azure Instance Metadata Service (VMs, VM scale sets, AKS, Container Instances).
 *
 * @since 0.1.0
 */
import * as Imds from "@managed-identity/protocol/sources/Imds"
import type * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Exchange from "./internal/http/exchange.js"
import * as ImdsProbe from "./internal/http/imdsProbe.js"
import * as SourceService from "./internal/http/sourceService.js"
import * as Results from "./internal/result.js"
import * as Environment from "./internal/source/environment.js"
import * as LocalHttpClient from "./LocalHttpClient.js"
import * as ManagedIdentity from "./ManagedIdentity.js"
import type { ManagedIdentityError } from "./ManagedIdentityError.js"
import type * as RetryPolicy from "./RetryPolicy.js"
import * as TokenSource from "./TokenSource.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion: string = Imds.apiVersion

/**
 * The retry policy IMDS uses unless a `retrySchedule` replaces it.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryPolicy: RetryPolicy.RetryPolicy = SourceService.retryRules(Imds.facts).retryPolicy

/**
 * The failures IMDS retries; a `retrySchedule` never retries anything else.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable: (error: ManagedIdentityError) => boolean = SourceService.retryRules(Imds.facts).isRetryable

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends ProbeOptions {
  /** The IMDS host (default `http://169.254.169.254`); leading and trailing `/` are ignored. */
  readonly authorityHost?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ProbeOptions extends TokenSource.TimingOptions {
  /**
   * Bound the first contact (default `false`; `ManagedIdentitySource` turns it on when IMDS is the detected
   * fallback): until IMDS has answered this source once, an attempt gets `probeTimeout` to connect and answer; a
   * connection that fails (refused, reset, cut short) is tried again after 50, 100 and 200 ms within that time. No
   * answer, a connection that failed every time, or Docker Desktop's `403 … unreachable` is then a
   * `SourceUnavailable`, without the source's retries; a failed probe is not remembered. Any HTTP answer means IMDS is
   * there, and the normal policy applies.
   */
  readonly probe?: boolean | undefined
  /** How long a probe waits (default 1 s). */
  readonly probeTimeout?: Duration.Input | undefined
}

/**
 * How long the probe waits for IMDS to connect and answer.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultProbeTimeout: Duration.Duration = Duration.seconds(1)

/**
 * Builds the source. An authority host that does not make an http or https URL, or holds a user name or password,
 * is refused with `InvalidIdentity` before anything is sent. With `probe`, its first contact is bounded by the probe
 * (see {@link ProbeOptions}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<TokenSource.TokenSource.Service, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  Effect.gen(function*() {
    const client = yield* LocalHttpClient.routed
    const identity = yield* ManagedIdentity.ManagedIdentity
    const url = Imds.tokenUrl(options.authorityHost ?? Imds.defaultAuthorityHost)
    const definition = SourceService.definition(Imds.facts, url, options)
    const guard = options.probe === true
      ? yield* ImdsProbe.make(definition, options.probeTimeout ?? defaultProbeTimeout)
      : undefined
    return SourceService.make(
      definition,
      identity,
      Imds.check(url, identity),
      (checked) => SourceService.single(client, definition, (request) => Imds.request(checked, request), guard)
    )
  })

/**
 * Probes IMDS once, as the first contact of a detected IMDS source is probed, with a request that asks for no token
 * (no `Metadata` header, which IMDS answers `400`): the status it answered, or the `SourceUnavailable` of a failed
 * probe (an unusable authority host is an `InvalidIdentity`). `managed-identity source` reports it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const probe = (
  options: Pick<Options, "authorityHost" | "probeTimeout"> = {}
): Effect.Effect<number, ManagedIdentityError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* LocalHttpClient.routed
    const url = Imds.tokenUrl(options.authorityHost ?? Imds.defaultAuthorityHost)
    const endpoint = Exchange.endpoint("Imds", url)
    const guard = yield* ImdsProbe.make(endpoint, options.probeTimeout ?? defaultProbeTimeout)
    yield* Results.toEffect(Imds.checkUrl(url))
    const received = yield* guard(Exchange.exchange(client, endpoint, 1, Imds.probeRequest(url)))
    return received.status
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<TokenSource.TokenSource, never, HttpClient.HttpClient | ManagedIdentity.ManagedIdentity> =>
  Layer.effect(TokenSource.TokenSource, make(options))

/**
 * {@link probe} at the host from `AZURE_POD_IDENTITY_AUTHORITY_HOST` (read through `Config`), default IMDS otherwise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const probeConfig = (
  options: Pick<Options, "probeTimeout"> = {}
): Effect.Effect<number, ManagedIdentityError | Config.ConfigError, HttpClient.HttpClient> =>
  Effect.flatMap(
    Environment.optional(Imds.authorityHostVariable),
    (host) => probe({ ...options, authorityHost: Option.getOrUndefined(host) })
  )

/**
 * The authority host from `AZURE_POD_IDENTITY_AUTHORITY_HOST` (read through `Config`), default IMDS otherwise.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: ProbeOptions = {}
): Layer.Layer<
  TokenSource.TokenSource,
  Config.ConfigError,
  HttpClient.HttpClient | ManagedIdentity.ManagedIdentity
> =>
  Environment.optional(Imds.authorityHostVariable).pipe(
    Effect.flatMap((host) => make({ ...options, authorityHost: Option.getOrUndefined(host) })),
    Layer.effect(TokenSource.TokenSource)
  )
