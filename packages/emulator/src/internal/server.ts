import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as Https from "node:https"
import type * as EmulatorEndpoint from "./endpoint.js"
import * as EmulatorFaults from "./faults.js"
import * as EmulatorFederated from "./federated.js"
import * as EmulatorIdentity from "./identity.js"
import { decodeFaultScripts, EmulatorError, failWith, maxScriptText, type Secrets, type SourceKind } from "./model.js"
import * as EmulatorProtocol from "./protocol.js"
import type * as EmulatorRecorder from "./recorder.js"
import type * as EmulatorReplies from "./replies.js"
import * as EmulatorStsDiscovery from "./stsDiscovery.js"
import * as Certificates from "./workloadCertificates.js"

/**
 * Where each source's token endpoint is: Service Fabric on the HTTPS server, every other source on the HTTP server.
 *
 * @internal
 */
export const paths = {
  Imds: "/metadata/identity/oauth2/token",
  AppService: "/msi/token",
  MachineLearning: "/ml/token",
  CloudShell: "/oauth2/token",
  AzureArc: "/arc/metadata/identity/oauth2/token",
  ServiceFabric: "/metadata/identity/oauth2/token"
} as const

/**
 * Where the identity-binding token proxy serves the STS: below this path, on its own HTTPS server.
 *
 * @internal
 */
export const tokenProxyPath = "/identity-binding"

/** @internal */
export interface Addresses {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string
  /** The full Service Fabric endpoint on the HTTPS server. */
  readonly serviceFabricUrl: string
  /** The workload identity STS, `https://127.0.0.1:<port>`. */
  readonly authorityHost: string
  /** The identity-binding token proxy, `https://127.0.0.1:<port>/identity-binding`. */
  readonly tokenProxy: string
}

/** What a host's variables point at besides the addresses. */
export interface HostFacts {
  readonly secrets: Secrets
  readonly thumbprint: string
  readonly workload: { readonly tokenFile: string; readonly caFile: string; readonly proxyCaFile: string }
}

/**
 * Exactly the variables a host of `kind` sets, pointing at the emulator; for workload identity `NODE_EXTRA_CA_CERTS`
 * too, and with `identityBindings` the token proxy's variables. A managed identity as a federated credential: IMDS's,
 * the STS's, and the default application's client id and tenant.
 *
 * @internal
 */
export const variables = (
  kind: SourceKind,
  { authorityHost, baseUrl, serviceFabricUrl, tokenProxy }: Addresses,
  { secrets, thumbprint, workload }: HostFacts,
  options: { readonly identityBindings?: boolean } = {}
): Record<string, string> => {
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
    case "WorkloadIdentity":
      return {
        AZURE_AUTHORITY_HOST: authorityHost,
        AZURE_TENANT_ID: EmulatorIdentity.tenantId,
        AZURE_CLIENT_ID: EmulatorIdentity.systemAssigned.WorkloadIdentity.clientId,
        AZURE_FEDERATED_TOKEN_FILE: workload.tokenFile,
        NODE_EXTRA_CA_CERTS: workload.caFile,
        ...(options.identityBindings === true
          ? {
            AZURE_KUBERNETES_TOKEN_PROXY: tokenProxy,
            AZURE_KUBERNETES_SNI_NAME: Certificates.proxyServerName,
            AZURE_KUBERNETES_CA_FILE: workload.proxyCaFile
          }
          : {})
      }
    case "FederatedCredential":
      return {
        AZURE_POD_IDENTITY_AUTHORITY_HOST: baseUrl,
        AZURE_AUTHORITY_HOST: authorityHost,
        MANAGED_IDENTITY_FEDERATED_CLIENT_ID: EmulatorIdentity.defaultAppRegistration.clientId,
        MANAGED_IDENTITY_FEDERATED_TENANT_ID: EmulatorIdentity.defaultAppRegistration.tenantId,
        NODE_EXTRA_CA_CERTS: workload.caFile
      }
  }
}

/** What the servers answer with: the endpoints' behaviour, the fault queues and the record of requests. */
interface Handlers {
  readonly environment: EmulatorEndpoint.Environment
  readonly faults: EmulatorFaults.Queues
  readonly recorder: EmulatorRecorder.Recorder
  /** Rewrites the federated token file (`POST /_emulator/workload-identity/rotate`). */
  readonly rotateFederatedToken: Effect.Effect<unknown>
}

const requestText = (request: HttpServerRequest.HttpServerRequest) => Effect.orElseSucceed(request.text, () => "")

/** The request in context as `kind` (or the kind `kindOf` finds) received it, recorded. */
const received = (
  kind: SourceKind | ((incoming: EmulatorEndpoint.Incoming) => Effect.Effect<SourceKind>),
  recorder: EmulatorRecorder.Recorder
) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(request.originalUrl, "http://127.0.0.1")
    const incoming: EmulatorEndpoint.Incoming = {
      method: request.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...request.headers },
      body: yield* requestText(request)
    }
    const source = typeof kind === "string" ? kind : yield* kind(incoming)
    yield* recorder.record({ source, ...incoming })
    return { request, incoming, kind: source }
  })

/** A token request to `kind`: recorded, then answered by the endpoint or by the next fault step of `kind`. */
const serveSource = (
  source: SourceKind | ((incoming: EmulatorEndpoint.Incoming) => Effect.Effect<SourceKind>),
  { environment, faults, recorder }: Handlers
) =>
  Effect.gen(function*() {
    const { incoming, kind, request } = yield* received(source, recorder)
    const step = yield* faults.next(kind)
    return yield* EmulatorFaults.answer(kind, step, request, EmulatorProtocol.respond(kind, incoming, environment))
  })

/** A request to the STS other than a token request (discovery, anything unknown): recorded, never faulted. */
const serveSts = (
  recorder: EmulatorRecorder.Recorder,
  answer: (incoming: EmulatorEndpoint.Incoming) => Effect.Effect<EmulatorReplies.Reply>
) =>
  Effect.flatMap(
    received("WorkloadIdentity", recorder),
    ({ incoming }) =>
      Effect.map(answer(incoming), (reply) =>
        HttpServerResponse.unsafeJson(reply.body, { status: reply.status, headers: reply.headers }))
  )

/**
 * `PUT /_emulator/faults`: fault scripts as JSON, at most 1 MiB of it read; 400 with the reason when they are larger or
 * do not decode.
 */
const putFaults = (faults: EmulatorFaults.Queues) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    return yield* request.text.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(maxScriptText)),
      Effect.mapError(() => new EmulatorError({ message: `the body is larger than ${maxScriptText} bytes` })),
      Effect.flatMap(decodeFaultScripts),
      Effect.flatMap(faults.setScripts),
      Effect.as(HttpServerResponse.empty({ status: 204 })),
      Effect.catchAll((error) =>
        Effect.succeed(HttpServerResponse.unsafeJson({ error: error.message }, { status: 400 }))
      )
    )
  })

/**
 * The STS: its discovery documents (which the Azure SDKs fetch before every token request), the keys that sign the
 * emulator's tokens, the token endpoint, and a recorded `404` for anything else, so a test sees every request a
 * client made.
 */
const stsRouter = (handlers: Handlers, authority: () => string) => {
  const keys = serveSts(
    handlers.recorder,
    (incoming) => EmulatorStsDiscovery.keys(incoming, handlers.environment.signingKey)
  )
  return HttpRouter.empty.pipe(
    HttpRouter.get(
      "/:tenant/v2.0/.well-known/openid-configuration",
      serveSts(handlers.recorder, (incoming) => EmulatorStsDiscovery.openIdConfiguration(incoming, "v2.0", authority()))
    ),
    HttpRouter.get(
      "/:tenant/.well-known/openid-configuration",
      serveSts(handlers.recorder, (incoming) => EmulatorStsDiscovery.openIdConfiguration(incoming, "v1", authority()))
    ),
    HttpRouter.get("/:tenant/discovery/keys", keys),
    HttpRouter.get("/:tenant/discovery/v2.0/keys", keys),
    HttpRouter.all(
      "/:tenant/oauth2/v2.0/token",
      serveSource((incoming) => EmulatorFederated.stsKind(incoming, handlers.environment.federated), handlers)
    ),
    HttpRouter.all("*", serveSts(handlers.recorder, EmulatorStsDiscovery.notFound))
  )
}

const httpRouter = (handlers: Handlers) =>
  HttpRouter.empty.pipe(
    HttpRouter.all(paths.Imds, serveSource("Imds", handlers)),
    HttpRouter.all(paths.AppService, serveSource("AppService", handlers)),
    HttpRouter.all(paths.MachineLearning, serveSource("MachineLearning", handlers)),
    HttpRouter.all(paths.CloudShell, serveSource("CloudShell", handlers)),
    HttpRouter.all(paths.AzureArc, serveSource("AzureArc", handlers)),
    HttpRouter.put("/_emulator/faults", putFaults(handlers.faults)),
    HttpRouter.post(
      "/_emulator/workload-identity/rotate",
      Effect.as(handlers.rotateFederatedToken, HttpServerResponse.empty({ status: 204 }))
    ),
    HttpRouter.get(
      "/_emulator/requests",
      Effect.map(handlers.recorder.requests, (all) => HttpServerResponse.unsafeJson(all))
    ),
    HttpRouter.del("/_emulator/requests", Effect.as(handlers.recorder.clear, HttpServerResponse.empty({ status: 204 })))
  )

const serviceFabricRouter = (handlers: Handlers) =>
  HttpRouter.empty.pipe(HttpRouter.all(paths.ServiceFabric, serveSource("ServiceFabric", handlers)))

const closeNow = (server: Http.Server) =>
  Effect.async<void>((resume) => {
    server.close(() => resume(Effect.void))
    server.closeAllConnections()
  })

/** Serves `app` on 127.0.0.1 until the scope closes (open connections included); the port it got. */
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
 * Starts the HTTP server on `port` (0: a free one) and, each on a free port, the HTTPS servers of Service Fabric, the
 * workload identity STS and its identity-binding token proxy, all stopped when the scope closes.
 *
 * @internal
 */
export const serve = (
  options: Handlers & { readonly port: number; readonly tls: { readonly key: string; readonly cert: string } }
): Effect.Effect<Addresses, EmulatorError, Scope.Scope> =>
  Effect.gen(function*() {
    const port = yield* listen(() => Http.createServer(), options.port, httpRouter(options))
    const tlsPort = yield* listen(
      () => Https.createServer({ key: options.tls.key, cert: options.tls.cert }),
      0,
      serviceFabricRouter(options)
    )
    const authority = { origin: "" }
    const sts = stsRouter(options, () => authority.origin)
    const stsPort = yield* listen(
      () => Https.createServer({ key: Certificates.stsPrivateKey, cert: Certificates.stsCertificate }),
      0,
      sts
    )
    authority.origin = `https://127.0.0.1:${stsPort}`
    const proxyPort = yield* listen(
      () => Https.createServer({ key: Certificates.proxyPrivateKey, cert: Certificates.proxyCertificate }),
      0,
      HttpRouter.prefixAll(sts, tokenProxyPath)
    )
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      serviceFabricUrl: `https://127.0.0.1:${tlsPort}${paths.ServiceFabric}`,
      authorityHost: authority.origin,
      tokenProxy: `https://127.0.0.1:${proxyPort}${tokenProxyPath}`
    }
  })
