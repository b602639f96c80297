/**
 * The Effect 4 line as the conformance suite drives it: `NodeManagedIdentity.layerWithOptions` in a `ManagedRuntime`,
 * the host's variables as its `ConfigProvider`.
 */
import type * as Conformance from "@managed-identity/conformance/Line"
import type { AccessToken } from "@managed-identity/effect4"
import { ManagedIdentity, ManagedIdentityClient } from "@managed-identity/effect4"
import { Cause, ConfigProvider, Effect, Exit, Layer, ManagedRuntime, Option, Redacted, Schedule } from "effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as NodeManagedIdentity from "../../src/NodeManagedIdentity.js"

const identityOf = (identity: Conformance.Identity): ManagedIdentity.Identity => {
  switch (identity.kind) {
    case "SystemAssigned":
      return ManagedIdentity.systemAssigned
    case "ClientId":
      return ManagedIdentity.clientId(identity.value)
    case "ObjectId":
      return ManagedIdentity.objectId(identity.value)
    case "ResourceId":
      return ManagedIdentity.resourceId(identity.value)
  }
}

const timingOf = (timing: Conformance.Timing) => ({
  retrySchedule: Schedule.max([Schedule.spaced(`${timing.spacingMillis} millis`), Schedule.recurs(timing.retries)]),
  attemptTimeout: `${timing.attemptTimeoutMillis} millis`,
  deadline: `${timing.deadlineMillis} millis`,
  probeTimeout: `${timing.probeTimeoutMillis} millis`
} as const)

const outcomeOf = (exit: Exit.Exit<AccessToken.AccessToken, unknown>): Conformance.Outcome =>
  Exit.isSuccess(exit)
    ? { outcome: "token", token: Redacted.value(exit.value.token) }
    : Option.match(Cause.findErrorOption(exit.cause), {
      onNone: () => ({ outcome: Cause.pretty(exit.cause), printed: "" }),
      onSome: (error) => ({
        outcome: (error as { readonly _tag: string })._tag,
        printed: `${String(error)}\n${JSON.stringify(error)}`
      })
    })

/** The Effect 4 line: `@managed-identity/effect4` with `@managed-identity/effect4-node`. */
export const line: Conformance.Line = {
  name: "Effect 4",
  makeClient: async ({ host, identity, timing, verifyIdentity }) => {
    const runtime = ManagedRuntime.make(
      NodeManagedIdentity.layerWithOptions({
        source: { azureArcKeyDirectory: host.arcKeyDirectory, ...(timing === undefined ? {} : timingOf(timing)) },
        client: { verifyIdentity: verifyIdentity === true }
      }).pipe(
        Layer.provide(ManagedIdentity.layer(identityOf(identity))),
        Layer.provide(host.fetch === undefined ? Layer.empty : Layer.succeed(FetchHttpClient.Fetch, host.fetch)),
        Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: host.env })))
      )
    )
    const getToken = (resource: string) =>
      Effect.exit(Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken(resource)))
    const built = await runtime.runPromiseExit(ManagedIdentityClient.ManagedIdentityClient)
    const failed = Exit.isFailure(built) ? outcomeOf(built as Exit.Exit<never, unknown>) : undefined
    return {
      getToken: async (resource) => failed ?? outcomeOf(await runtime.runPromise(getToken(resource))),
      getTokenConcurrently: async (resource, callers) =>
        failed === undefined
          ? (await runtime.runPromise(Effect.all(Array.from({ length: callers }, () => getToken(resource)), {
            concurrency: "unbounded"
          }))).map(outcomeOf)
          : Array.from({ length: callers }, () => failed),
      dispose: () => runtime.dispose()
    }
  }
}
