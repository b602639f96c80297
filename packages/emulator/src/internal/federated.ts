/**
 * A managed identity as a federated credential on the emulator: the applications that trust the emulator's managed
 * identities, the bounded record of the tokens the emulator issued (how the STS recognises a managed identity's token,
 * whatever its signature), and the STS's answer to an exchange of such a token for an application's.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Environment, Incoming } from "./endpoint.js"
import * as EmulatorIdentity from "./identity.js"
import type { AppRegistration, SourceKind } from "./model.js"
import type { Grant, Reply } from "./replies.js"
import { clientCredentials, tenantOf } from "./stsToken.js"

/** The token-exchange audience an application trusts unless its registration names another. */
const defaultAudience = "api://AzureADTokenExchange"

/** The emulator remembers at most this many issued tokens, the oldest forgotten first. */
const maxRemembered = 10_000

/** What the emulator remembers of a token it issued. */
export interface IssuedToken {
  readonly kind: SourceKind
  readonly audience: string
  /** Epoch seconds. */
  readonly expiresOn: number
}

/** @internal */
export interface Federated {
  readonly appRegistrations: ReadonlyArray<AppRegistration>
  /** Remembers a token the emulator issued. */
  readonly remember: (token: string, issued: IssuedToken) => Effect.Effect<void>
  /** What the emulator issued as `token`, if it remembers it. */
  readonly issued: (token: string) => Effect.Effect<Option.Option<IssuedToken>>
}

/** @internal */
export const make = (
  appRegistrations: ReadonlyArray<AppRegistration> = [EmulatorIdentity.defaultAppRegistration]
): Effect.Effect<Federated> =>
  Effect.sync(() => {
    const remembered = new Map<string, IssuedToken>()
    return {
      appRegistrations,
      remember: (token, issued) =>
        Effect.sync(() => {
          remembered.set(token, issued)
          if (remembered.size > maxRemembered) remembered.delete(remembered.keys().next().value!)
        }),
      issued: (token) => Effect.sync(() => Option.fromNullable(remembered.get(token)))
    }
  })

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/** The tenants of the applications, lower case. */
const tenantKnown = (federated: Federated) => (tenant: string) =>
  federated.appRegistrations.some((app) => sameId(app.tenantId, tenant))

/**
 * Which source an STS token request belongs to: a managed identity used as a federated credential when its assertion
 * is a token the emulator issued or its tenant is an application's, else workload identity.
 *
 * @internal
 */
export const stsKind = (request: Incoming, federated: Federated): Effect.Effect<SourceKind> =>
  Effect.map(
    federated.issued(new URLSearchParams(request.body).get("client_assertion") ?? ""),
    (issued): SourceKind =>
      Option.isSome(issued) || tenantKnown(federated)(tenantOf(request.path))
        ? "FederatedCredential"
        : "WorkloadIdentity"
  )

/**
 * Entra's token endpoint for an application trusting a managed identity: the tenant must be an application's, the
 * client id an application registered in it (else `AADSTS700016`), and the assertion a managed identity token the
 * emulator issued (else `AADSTS700211`), still valid (else `AADSTS700024`) and for the application's token-exchange
 * audience (else `AADSTS700212`).
 *
 * @internal
 */
export const acceptFederatedCredential = (request: Incoming, env: Environment): Effect.Effect<Grant, Reply> =>
  Effect.gen(function*() {
    const exchange = yield* clientCredentials(request, tenantKnown(env.federated))
    const app = env.federated.appRegistrations.find((app) =>
      sameId(app.tenantId, exchange.tenant) && sameId(app.clientId, exchange.clientId)
    )
    if (app === undefined) return yield* Effect.fail(exchange.refuse(700016))
    const issued = yield* env.federated.issued(exchange.assertion)
    if (Option.isNone(issued) || issued.value.kind === "FederatedCredential") {
      return yield* Effect.fail(exchange.refuse(700211))
    }
    const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    if (issued.value.expiresOn <= now) return yield* Effect.fail(exchange.refuse(700024))
    if (issued.value.audience !== (app.audience ?? defaultAudience)) return yield* Effect.fail(exchange.refuse(700212))
    return { resource: exchange.resource, identity: EmulatorIdentity.applicationIdentity(app), userAssigned: false }
  })
