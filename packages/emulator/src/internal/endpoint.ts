/**
 * What an emulated endpoint receives and consults: the request, the emulator's secrets and state, and the grant of an
 * identity the emulator knows.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Option from "effect/Option"
import { randomBytes, randomUUID } from "node:crypto"
import type { Federated } from "./federated.js"
import * as EmulatorIdentity from "./identity.js"
import type { Identity, Secrets, SourceKind, TokenFault } from "./model.js"
import type { Grant, Reply } from "./replies.js"
import type { SigningKey } from "./signing.js"
import type { AssertionStatus } from "./workload.js"

/** @internal */
export interface Incoming {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** @internal */
export interface Environment {
  readonly secrets: Secrets
  /** The key every access token is signed with, published by the STS. */
  readonly signingKey: SigningKey
  readonly lifetime: number
  readonly knownIdentities: Option.Option<ReadonlyArray<Identity>>
  /** Writes a fresh Arc key file and answers the realm naming it. */
  readonly arcChallenge: Effect.Effect<string, unknown>
  /** Whether the key is one issued and not used yet; a valid key is used up. */
  readonly arcRedeem: (key: string) => Effect.Effect<boolean>
  /** What the STS makes of a workload identity's `client_assertion`. */
  readonly federatedAssertion: (assertion: string) => Effect.Effect<AssertionStatus>
  /** The applications trusting managed identities, and the record of the tokens issued. */
  readonly federated: Federated
  /** Takes the token fault that the next token of `kind` gets, if one is queued. */
  readonly nextTokenFault: (kind: SourceKind) => Effect.Effect<Option.Option<TokenFault>>
}

/**
 * Fresh secrets for one emulator: App Service's identity header, Azure ML's and Service Fabric's secrets.
 *
 * @internal
 */
export const makeSecrets: Effect.Effect<Secrets> = Effect.sync(() => ({
  identityHeader: randomUUID(),
  msiSecret: randomBytes(16).toString("hex"),
  serviceFabricSecret: randomBytes(16).toString("hex")
}))

/**
 * A check that fails with the reply the endpoint sends instead of a token.
 *
 * @internal
 */
export type Checked<A> = Either.Either<A, Reply>

/**
 * A request for the identity `selector` picks, granted when the emulator knows it (`notFound` answers otherwise).
 *
 * @internal
 */
export const grant = (
  kind: SourceKind,
  resource: string,
  selector: EmulatorIdentity.Selector,
  env: Environment,
  notFound: () => Reply
): Checked<Grant> =>
  Either.map(
    Either.fromOption(EmulatorIdentity.resolve(kind, selector, env.knownIdentities), notFound),
    (identity) => ({ resource, identity, userAssigned: selector._tag !== "SystemAssigned" })
  )

/** @internal */
export const systemAssigned: EmulatorIdentity.Selector = { _tag: "SystemAssigned" }
