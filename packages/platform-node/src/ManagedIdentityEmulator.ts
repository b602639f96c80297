/**
 * A local server on 127.0.0.1 that speaks all six managed identity protocols the way the real endpoints do:
 * IMDS, App Service, Azure Machine Learning, Cloud Shell and Azure Arc on one HTTP server, Service Fabric on
 * an HTTPS server with a self-signed certificate. It issues unsigned JWT-shaped tokens whose claims name the
 * identity, resource and source, records every request, and plays fault scripts per source.
 *
 * Paths on `baseUrl`: IMDS `/metadata/identity/oauth2/token`, App Service `/msi/token`, Azure ML `/ml/token`,
 * Cloud Shell `/oauth2/token`, Azure Arc `/arc/metadata/identity/oauth2/token`, and the control endpoint
 * `/_emulator/faults` (`PUT`) and `/_emulator/requests` (`GET`, `DELETE`). Service Fabric is
 * `serviceFabricUrl`.
 *
 * Time comes from the `Clock` of the fiber that starts the emulator, so under `TestClock` tokens are issued at
 * test time and `delay` / `trickle` faults wait for the clock to be adjusted.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as TokenSource from "@managed-identity/core/TokenSource"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { createHash, randomBytes, randomUUID, X509Certificate } from "node:crypto"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Path from "node:path"
import * as EmulatorCertificate from "./internal/emulatorCertificate.js"
import * as EmulatorFaults from "./internal/emulatorFaults.js"
import * as EmulatorIdentity from "./internal/emulatorIdentity.js"
import * as EmulatorProtocol from "./internal/emulatorProtocol.js"

/**
 * The managed identity sources the emulator serves (the core's `TokenSource.SourceKind`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SourceKind = TokenSource.SourceKind

/**
 * @since 0.1.0
 * @category models
 */
export type SourceKind = TokenSource.SourceKind

const times = { times: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { exact: true }) }

/**
 * One step of a fault script; `times: n` repeats it n times.
 *
 * - `{ status, body?, headers? }` answers with that status, headers and body (a string is sent as is, anything
 *   else as JSON; without a body, an error body in the source's own shape).
 * - `{ delay: ms }` waits, then answers normally.
 * - `{ reset: true }` destroys the connection without answering.
 * - `{ hang: true }` never answers (closing the emulator still closes the connection).
 * - `{ malformedJson: true }` answers 200 with the first half of the normal JSON body.
 * - `{ oversized: true }` answers 200 with valid JSON of more than 100 KiB (the normal body plus `padding`).
 * - `{ trickle: ms }` answers normally, 16 bytes at a time with that pause between chunks.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FaultStep = Schema.Union(
  Schema.Struct({
    status: Schema.Int.pipe(Schema.between(100, 599)),
    body: Schema.optionalWith(Schema.Unknown, { exact: true }),
    headers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { exact: true }),
    ...times
  }),
  Schema.Struct({ delay: Schema.NonNegative, ...times }),
  Schema.Struct({ reset: Schema.Literal(true), ...times }),
  Schema.Struct({ hang: Schema.Literal(true), ...times }),
  Schema.Struct({ malformedJson: Schema.Literal(true), ...times }),
  Schema.Struct({ oversized: Schema.Literal(true), ...times }),
  Schema.Struct({ trickle: Schema.NonNegative, ...times })
)

/**
 * @since 0.1.0
 * @category models
 */
export type FaultStep = typeof FaultStep.Type

/**
 * Fault scripts by source, e.g. `{"Imds": [{"status": 500, "times": 2}]}`; a source not named keeps its script.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FaultScripts = Schema.partialWith(Schema.Record({ key: SourceKind, value: Schema.Array(FaultStep) }), {
  exact: true
})

/**
 * @since 0.1.0
 * @category models
 */
export type FaultScripts = typeof FaultScripts.Type

/**
 * @since 0.1.0
 * @category errors
 */
export class EmulatorError extends Schema.TaggedError<EmulatorError>()("EmulatorError", {
  message: Schema.String
}) {}

/**
 * A managed identity as the emulator knows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Identity {
  readonly clientId: string
  readonly objectId: string
  readonly resourceId: string
}

/**
 * The identity each source issues system-assigned tokens for (`appid`, `oid` and `xms_mirid` claims).
 *
 * @since 0.1.0
 * @category constants
 */
export const systemAssignedIdentities: Readonly<Record<SourceKind, Identity>> = EmulatorIdentity.systemAssigned

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Port of the HTTP server; `0` (the default) picks a free one. Service Fabric always gets a free port. */
  readonly port?: number
  /** Lifetime of issued tokens; default 86400 seconds. */
  readonly tokenLifetime?: Duration.DurationInput
  /** Where Azure Arc key files are written; default a fresh temporary directory removed on close. */
  readonly arcKeyDirectory?: string
  /** Fault scripts to start with. */
  readonly faults?: FaultScripts
  /** When given, a user-assigned id not listed gets the endpoint's "identity not found" error. */
  readonly knownIdentities?: ReadonlyArray<Identity>
  /** Key and certificate (PEM) of the Service Fabric server; default a shipped self-signed pair. */
  readonly tls?: { readonly key: string; readonly cert: string }
}

/**
 * One request as the emulator received it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  readonly source: SourceKind
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /** Epoch milliseconds. */
  readonly at: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Emulator {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string
  /** The full Service Fabric `IDENTITY_ENDPOINT`, `https://127.0.0.1:<port>/metadata/identity/oauth2/token`. */
  readonly serviceFabricUrl: string
  /** SHA-1 of the Service Fabric certificate (DER), 40 upper-case hex characters. */
  readonly thumbprint: string
  readonly arcKeyDirectory: string
  /** Random per start. */
  readonly secrets: {
    readonly identityHeader: string
    readonly msiSecret: string
    readonly serviceFabricSecret: string
  }
  /** Exactly the variables a process needs to detect `kind` and reach this emulator. */
  readonly env: (kind: SourceKind) => Record<string, string>
  /** Every request to a token endpoint, in order; the control endpoint is not recorded. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly requestCount: (kind?: SourceKind) => Effect.Effect<number>
  readonly clearRequests: Effect.Effect<void>
  /** Replaces the fault script of `kind`. */
  readonly setFaults: (kind: SourceKind, steps: ReadonlyArray<FaultStep>) => Effect.Effect<void>
  /** The key written by the latest Azure Arc challenge. */
  readonly lastArcKey: Effect.Effect<Option.Option<Redacted.Redacted<string>>>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ManagedIdentityEmulator extends Context.Tag("@managed-identity/platform-node/ManagedIdentityEmulator")<
  ManagedIdentityEmulator,
  Emulator
>() {}

/**
 * Decodes fault scripts from JSON (as given to `PUT /_emulator/faults`); unknown fields are rejected.
 *
 * @since 0.1.0
 * @category schemas
 */
export const decodeFaultScripts = (json: string): Effect.Effect<FaultScripts, EmulatorError> =>
  Schema.decode(Schema.parseJson(FaultScripts), { onExcessProperty: "error" })(json).pipe(
    Effect.mapError((error) => new EmulatorError({ message: `Invalid fault script: ${error.message}` }))
  )

type Queues = Partial<Record<SourceKind, ReadonlyArray<FaultStep>>>

const paths = {
  Imds: "/metadata/identity/oauth2/token",
  AppService: "/msi/token",
  MachineLearning: "/ml/token",
  CloudShell: "/oauth2/token",
  AzureArc: "/arc/metadata/identity/oauth2/token",
  ServiceFabric: "/metadata/identity/oauth2/token"
} as const

const failWith = (message: string) => (cause: unknown) =>
  new EmulatorError({ message: `${message}: ${cause instanceof Error ? cause.message : String(cause)}` })

const closeNow = (server: Http.Server) =>
  Effect.async<void>((resume) => {
    server.close(() => resume(Effect.void))
    server.closeAllConnections()
  })

const listen = <E>(create: () => Http.Server, port: number, app: HttpRouter.HttpRouter<E>) =>
  Effect.gen(function*() {
    const server = yield* Effect.try({ try: create, catch: failWith("Could not create the server") })
    const httpServer = yield* NodeHttpServer.make(() => server, { port, host: "127.0.0.1" }).pipe(
      Effect.mapError((error) => failWith(`Could not listen on 127.0.0.1:${port}`)(error.cause))
    )
    yield* Effect.addFinalizer(() => closeNow(server))
    yield* httpServer.serve(app.pipe(Effect.catchAll(() => HttpServerResponse.empty({ status: 404 })))).pipe(
      HttpMiddleware.withTracerDisabledWhenEffect(() => true)
    )
    return httpServer.address._tag === "TcpAddress" ? httpServer.address.port : port
  })

/**
 * Starts the emulator; its servers stop, and its temporary files go, when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (options: Options = {}): Effect.Effect<Emulator, EmulatorError, Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const tls = options.tls ?? { key: EmulatorCertificate.privateKey, cert: EmulatorCertificate.certificate }
    const thumbprint = yield* Effect.try({
      try: () => createHash("sha1").update(new X509Certificate(tls.cert).raw).digest("hex").toUpperCase(),
      catch: failWith("Invalid TLS certificate")
    })
    const arcKeyDirectory = options.arcKeyDirectory ?? (yield* fs.makeTempDirectoryScoped({
      prefix: "managed-identity-arc-"
    }).pipe(Effect.mapError(failWith("Could not create the Azure Arc key directory"))))
    yield* fs.makeDirectory(arcKeyDirectory, { recursive: true }).pipe(
      Effect.mapError(failWith(`Could not create ${arcKeyDirectory}`))
    )
    const secrets = {
      identityHeader: randomUUID(),
      msiSecret: randomBytes(16).toString("hex"),
      serviceFabricSecret: randomBytes(16).toString("hex")
    }

    const records = yield* Ref.make(Chunk.empty<RecordedRequest>())
    const faults = yield* Ref.make<Queues>({})
    const arcKeys = yield* Ref.make(HashSet.empty<string>())
    const lastArcKey = yield* Ref.make(Option.none<Redacted.Redacted<string>>())
    const keyFiles = yield* Ref.make<ReadonlyArray<string>>([])
    yield* Effect.addFinalizer(() =>
      Ref.get(keyFiles).pipe(
        Effect.flatMap(Effect.forEach((file) => Effect.ignore(fs.remove(file)), { discard: true }))
      )
    )

    const setFaults = (kind: SourceKind, steps: ReadonlyArray<FaultStep>) =>
      Ref.update(faults, (scripts) => ({ ...scripts, [kind]: EmulatorFaults.expand(steps) }))
    const setScripts = (scripts: FaultScripts) =>
      Effect.forEach(SourceKind.literals, (kind) => {
        const steps = scripts[kind]
        return steps === undefined ? Effect.void : setFaults(kind, steps)
      }, { discard: true })
    const nextFault = (kind: SourceKind) =>
      Ref.modify(faults, (scripts: Queues): [Option.Option<FaultStep>, Queues] => {
        const [step, ...rest] = scripts[kind] ?? []
        return step === undefined ? [Option.none(), scripts] : [Option.some(step), { ...scripts, [kind]: rest }]
      })
    yield* setScripts(options.faults ?? {})

    const environment: EmulatorProtocol.Environment = {
      secrets,
      lifetime: Math.floor(Duration.toSeconds(options.tokenLifetime ?? Duration.seconds(86400))),
      knownIdentities: Option.fromNullable(options.knownIdentities),
      arcChallenge: Effect.gen(function*() {
        const key = randomBytes(32).toString("hex")
        const file = Path.join(arcKeyDirectory, `${randomBytes(8).toString("hex")}.key`)
        yield* fs.writeFileString(file, key, { mode: 0o600 })
        yield* Ref.update(keyFiles, (files) => [...files, file])
        yield* Ref.update(arcKeys, HashSet.add(key))
        yield* Ref.set(lastArcKey, Option.some(Redacted.make(key)))
        return file
      }),
      arcRedeem: (key) =>
        Ref.modify(arcKeys, (keys) => HashSet.has(keys, key) ? [true, HashSet.remove(keys, key)] : [false, keys])
    }

    const serveSource = (kind: SourceKind) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const url = new URL(request.url, "http://127.0.0.1")
        const incoming: EmulatorProtocol.Incoming = {
          method: request.method,
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: { ...request.headers },
          body: yield* Effect.orElseSucceed(request.text, () => "")
        }
        const at = yield* Clock.currentTimeMillis
        yield* Ref.update(records, Chunk.append({ source: kind, ...incoming, at }))
        const step = yield* nextFault(kind)
        return yield* EmulatorFaults.answer(kind, step, request, EmulatorProtocol.respond[kind](incoming, environment))
      })

    const putFaults = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = yield* Effect.orElseSucceed(request.text, () => "")
      return yield* decodeFaultScripts(body).pipe(
        Effect.flatMap(setScripts),
        Effect.as(HttpServerResponse.empty({ status: 204 })),
        Effect.catchAll((error) =>
          Effect.succeed(HttpServerResponse.unsafeJson({ error: error.message }, { status: 400 }))
        )
      )
    })

    const requests = Effect.map(Ref.get(records), Chunk.toReadonlyArray)
    const clearRequests = Ref.set(records, Chunk.empty())

    const httpRouter = HttpRouter.empty.pipe(
      HttpRouter.all(paths.Imds, serveSource("Imds")),
      HttpRouter.all(paths.AppService, serveSource("AppService")),
      HttpRouter.all(paths.MachineLearning, serveSource("MachineLearning")),
      HttpRouter.all(paths.CloudShell, serveSource("CloudShell")),
      HttpRouter.all(paths.AzureArc, serveSource("AzureArc")),
      HttpRouter.put("/_emulator/faults", putFaults),
      HttpRouter.get("/_emulator/requests", Effect.map(requests, (all) => HttpServerResponse.unsafeJson(all))),
      HttpRouter.del("/_emulator/requests", Effect.as(clearRequests, HttpServerResponse.empty({ status: 204 })))
    )
    const serviceFabricRouter = HttpRouter.empty.pipe(
      HttpRouter.all(paths.ServiceFabric, serveSource("ServiceFabric"))
    )

    const port = yield* listen(() => Http.createServer(), options.port ?? 0, httpRouter)
    const tlsPort = yield* listen(() => Https.createServer({ key: tls.key, cert: tls.cert }), 0, serviceFabricRouter)
    const baseUrl = `http://127.0.0.1:${port}`
    const serviceFabricUrl = `https://127.0.0.1:${tlsPort}${paths.ServiceFabric}`

    const env = (kind: SourceKind): Record<string, string> => {
      switch (kind) {
        case "Imds":
          return { AZURE_POD_IDENTITY_AUTHORITY_HOST: baseUrl }
        case "AppService":
          return { IDENTITY_ENDPOINT: `${baseUrl}${paths.AppService}`, IDENTITY_HEADER: secrets.identityHeader }
        case "ServiceFabric":
          return {
            IDENTITY_ENDPOINT: serviceFabricUrl,
            IDENTITY_HEADER: secrets.serviceFabricSecret,
            IDENTITY_SERVER_THUMBPRINT: thumbprint
          }
        case "AzureArc":
          return { IDENTITY_ENDPOINT: `${baseUrl}${paths.AzureArc}`, IMDS_ENDPOINT: `${baseUrl}/arc` }
        case "CloudShell":
          return { MSI_ENDPOINT: `${baseUrl}${paths.CloudShell}` }
        case "MachineLearning":
          return { MSI_ENDPOINT: `${baseUrl}${paths.MachineLearning}`, MSI_SECRET: secrets.msiSecret }
      }
    }

    return {
      baseUrl,
      serviceFabricUrl,
      thumbprint,
      arcKeyDirectory,
      secrets,
      env,
      requests,
      requestCount: (kind) =>
        Effect.map(
          Ref.get(records),
          (all) => kind === undefined ? Chunk.size(all) : Chunk.size(Chunk.filter(all, (r) => r.source === kind))
        ),
      clearRequests,
      setFaults,
      lastArcKey: Ref.get(lastArcKey)
    } satisfies Emulator
  }).pipe(Effect.provide(NodeFileSystem.layer))

/**
 * The emulator as a service, started when the layer is built and stopped when it is released.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<ManagedIdentityEmulator, EmulatorError> =>
  Layer.scoped(ManagedIdentityEmulator, start(options))
