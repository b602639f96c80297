/**
 * The 3.x line as the conformance suite drives it: `NodeManagedIdentity.layerWithOptions` in a `ManagedRuntime`, the
 * host's variables as its `ConfigProvider`.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as Conformance from "@managed-identity/conformance/Line"
import { type AccessToken, ManagedIdentity, ManagedIdentityClient } from "@managed-identity/core"
import { Cause, ConfigProvider, Effect, Exit, Layer, ManagedRuntime, Option, Redacted, Schedule } from "effect"
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
  retrySchedule: Schedule.spaced(`${timing.spacingMillis} millis`).pipe(
    Schedule.intersect(Schedule.recurs(timing.retries))
  ),
  attemptTimeout: `${timing.attemptTimeoutMillis} millis`,
  deadline: `${timing.deadlineMillis} millis`,
  probeTimeout: `${timing.probeTimeoutMillis} millis`
} as const)

const outcomeOf = (exit: Exit.Exit<AccessToken.AccessToken, unknown>): Conformance.Outcome =>
  Exit.isSuccess(exit)
    ? { outcome: "token", token: Redacted.value(exit.value.token) }
    : Option.match(Cause.failureOption(exit.cause), {
      onNone: () => ({ outcome: Cause.pretty(exit.cause), printed: "" }),
      onSome: (error) => ({
        outcome: (error as { readonly _tag: string })._tag,
        printed: `${String(error)}\n${JSON.stringify(error)}`
      })
    })

/** The Effect 3 line: `@managed-identity/core` with `@managed-identity/platform-node`. */
export const line: Conformance.Line = {
  name: "Effect 3",
  makeClient: async ({ host, identity, timing, verifyIdentity }) => {
    const runtime = ManagedRuntime.make(
      NodeManagedIdentity.layerWithOptions({
        source: { azureArcKeyDirectory: host.arcKeyDirectory, ...(timing === undefined ? {} : timingOf(timing)) },
        client: { verifyIdentity: verifyIdentity === true }
      }).pipe(
        Layer.provide(ManagedIdentity.layer(identityOf(identity))),
        Layer.provideMerge(host.fetch === undefined ? Layer.empty : Layer.succeed(FetchHttpClient.Fetch, host.fetch)),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(host.env)))))
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
