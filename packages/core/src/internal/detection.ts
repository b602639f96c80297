/**
 * Which managed identity source this host has (`ManagedIdentitySource.detect`): PROTOCOL.md's table over the
 * variables, first match wins, and the Azure Arc agent binary when no variable decides.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ManagedIdentity from "../ManagedIdentity.js"
import * as Environment from "./environment.js"
import { type SourceKind, titles } from "./sourceKind.js"

/** The variables detection reads, in table order (public as `ManagedIdentitySource.variables`). */
export const variables = [
  "AZURE_FEDERATED_TOKEN_FILE",
  "AZURE_TENANT_ID",
  "AZURE_CLIENT_ID",
  "IDENTITY_ENDPOINT",
  "IDENTITY_HEADER",
  "IDENTITY_SERVER_THUMBPRINT",
  "MSI_ENDPOINT",
  "MSI_SECRET",
  "IMDS_ENDPOINT"
] as const

/** The Azure Arc agent binary on Linux. */
export const linuxArcAgentPath = "/opt/azcmagent/bin/himds"

/** A file detection looked for. */
export interface FileChecked {
  readonly path: string
  readonly exists: boolean
}

/** The detected source and why (public as `ManagedIdentitySource.Detection`). */
export interface Detection {
  readonly kind: SourceKind
  readonly reasons: ReadonlyArray<string>
  readonly variablesSeen: ReadonlyArray<string>
  readonly filesChecked: ReadonlyArray<FileChecked>
}

interface AgentSearch {
  readonly file: Option.Option<FileChecked>
  readonly note: string
}

const findArcAgent = (
  fs: FileSystem.FileSystem,
  platform: string
): Effect.Effect<AgentSearch, ConfigError.ConfigError> => {
  const check = (path: string) =>
    Effect.match(fs.exists(path), {
      onFailure: (error): AgentSearch => ({
        file: Option.some({ path, exists: false }),
        note: `${path} could not be checked (${error.message})`
      }),
      onSuccess: (exists): AgentSearch => ({
        file: Option.some({ path, exists }),
        note: `${path} ${exists ? "exists" : "does not exist"}`
      })
    })
  if (platform === "linux") return check(linuxArcAgentPath)
  if (platform === "win32") {
    return Effect.flatMap(Environment.optional("ProgramFiles"), (programFiles) =>
      Option.match(programFiles, {
        onNone: () =>
          Effect.succeed<AgentSearch>({
            file: Option.none(),
            note: `ProgramFiles is not set, so the ${titles.AzureArc} agent was not looked for`
          }),
        onSome: (directory) => check(`${directory.replace(/[\\/]+$/, "")}\\AzureConnectedMachineAgent\\himds.exe`)
      }))
  }
  return Effect.succeed({
    file: Option.none(),
    note: `the ${titles.AzureArc} agent is only looked for on Linux and Windows, not on ${platform}`
  })
}

/**
 * Workload identity's rule: the reason it is detected (right), or the note saying what is missing when only some of
 * its inputs are there (left; none when neither the token file nor the tenant is set).
 */
const workloadIdentity = (
  seen: (...names: ReadonlyArray<typeof variables[number]>) => boolean,
  clientIdConfigured: boolean
): Either.Either<string, Option.Option<string>> => {
  const file = seen("AZURE_FEDERATED_TOKEN_FILE")
  const tenant = seen("AZURE_TENANT_ID")
  const clientId = clientIdConfigured
    ? Option.some("the configured ClientId identity")
    : seen("AZURE_CLIENT_ID")
    ? Option.some("AZURE_CLIENT_ID")
    : Option.none()
  if (file && tenant && Option.isSome(clientId)) {
    return Either.right(`AZURE_FEDERATED_TOKEN_FILE and AZURE_TENANT_ID are set, the client id is ${clientId.value}`)
  }
  if (!file && !tenant) return Either.left(Option.none())
  const missing = [
    ...(file ? [] : ["AZURE_FEDERATED_TOKEN_FILE"]),
    ...(tenant ? [] : ["AZURE_TENANT_ID"]),
    ...(Option.isSome(clientId) ? [] : ["a client id (a ClientId identity or AZURE_CLIENT_ID)"])
  ]
  return Either.left(
    Option.some(`${titles.WorkloadIdentity} skipped: ${missing.join(" and ")} missing`)
  )
}

/**
 * Detects the source from the environment (through `Config`) and, when no variable decides, the Azure Arc agent
 * binary for `platform` (through `FileSystem`). A `ManagedIdentity` in context, if any, counts as workload identity's
 * client id when it is a `ClientId`.
 */
export const detect = (platform: string): Effect.Effect<Detection, ConfigError.ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const values = yield* Effect.all(variables.map((name) => Environment.optional(name)))
    const variablesSeen = variables.filter((_, index) => Option.isSome(values[index]))
    const seen = (...names: ReadonlyArray<typeof variables[number]>) =>
      names.every((name) => variablesSeen.includes(name))
    const seenText = variablesSeen.length === 0
      ? "no managed identity variable is set"
      : `variables seen: ${variablesSeen.join(", ")}`
    const configured = yield* Effect.serviceOption(ManagedIdentity.ManagedIdentity)
    const workload = workloadIdentity(
      seen,
      Option.exists(configured, (identity) => identity._tag === "ClientId")
    )
    const detected = (
      kind: SourceKind,
      reason: string,
      search?: AgentSearch
    ): Detection => ({
      kind,
      reasons: [
        `${titles[kind]}: ${reason}`,
        seenText,
        ...Either.match(workload, { onLeft: Option.toArray, onRight: () => [] }),
        ...(search === undefined ? [] : [search.note])
      ],
      variablesSeen,
      filesChecked: search === undefined ? [] : Option.toArray(search.file)
    })
    if (Either.isRight(workload)) {
      return detected("WorkloadIdentity", workload.right)
    }
    if (seen("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT")) {
      return detected("ServiceFabric", "IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT are set")
    }
    if (seen("IDENTITY_ENDPOINT", "IDENTITY_HEADER")) {
      return detected("AppService", "IDENTITY_ENDPOINT and IDENTITY_HEADER are set")
    }
    if (seen("MSI_ENDPOINT", "MSI_SECRET")) {
      return detected("MachineLearning", "MSI_ENDPOINT and MSI_SECRET are set")
    }
    if (seen("MSI_ENDPOINT")) {
      return detected("CloudShell", "MSI_ENDPOINT is set without MSI_SECRET")
    }
    if (seen("IDENTITY_ENDPOINT", "IMDS_ENDPOINT")) {
      return detected("AzureArc", "IDENTITY_ENDPOINT and IMDS_ENDPOINT are set")
    }
    const search = yield* findArcAgent(yield* FileSystem.FileSystem, platform)
    if (Option.isSome(search.file) && search.file.value.exists) {
      return detected("AzureArc", `the agent ${search.file.value.path} is installed`, search)
    }
    return detected("Imds", "no variable or file selects another source", search)
  })
