/**
 * The kinds of file a workload identity variable (`AZURE_FEDERATED_TOKEN_FILE`, `AZURE_KUBERNETES_CA_FILE`) may name,
 * made on disk: what `WorkloadIdentityFiles.test.ts` and the fault matrix try.
 */
import { ManagedIdentity, ManagedIdentityClient } from "@managed-identity/core"
import type { ManagedIdentityEmulator } from "@managed-identity/emulator"
import { Effect, Redacted, Schedule } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { clientLayer, onHost } from "./emulatorStack.js"

/** A fresh directory for the scope, removed when it closes. */
export const directory = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "managed-identity-files-"))),
  (path) => Effect.sync(() => Fs.rmSync(path, { recursive: true, force: true }))
)

/** The kinds of file a variable may name, each made at `path` (`content` for the regular ones). */
export type Kind =
  | "regular"
  | "link to a regular file"
  | "FIFO"
  | "link to a FIFO"
  | "/dev/zero"
  | "link to /dev/zero"
  | "directory"
  | "1 GiB (sparse)"
  | "empty"
  | "missing"

export const kinds: ReadonlyArray<Kind> = [
  "regular",
  "link to a regular file",
  "FIFO",
  "link to a FIFO",
  "/dev/zero",
  "link to /dev/zero",
  "directory",
  "1 GiB (sparse)",
  "empty",
  "missing"
]

/** Makes `kind` at `path`; returns the path the variable names (for /dev/zero, the device itself). */
export const make = (kind: Kind, path: string, content: Uint8Array): string => {
  switch (kind) {
    case "regular":
      Fs.writeFileSync(path, content)
      return path
    case "link to a regular file":
      Fs.mkdirSync(`${path}.data`)
      Fs.writeFileSync(Path.join(`${path}.data`, "file"), content)
      Fs.symlinkSync(Path.join(`${path}.data`, "file"), path)
      return path
    case "FIFO":
      ChildProcess.execFileSync("mkfifo", [path])
      return path
    case "link to a FIFO":
      ChildProcess.execFileSync("mkfifo", [`${path}.fifo`])
      Fs.symlinkSync(`${path}.fifo`, path)
      return path
    case "/dev/zero":
      return "/dev/zero"
    case "link to /dev/zero":
      Fs.symlinkSync("/dev/zero", path)
      return path
    case "directory":
      Fs.mkdirSync(path)
      return path
    case "1 GiB (sparse)":
      Fs.writeFileSync(path, "")
      Fs.truncateSync(path, 2 ** 30)
      return path
    case "empty":
      Fs.writeFileSync(path, "")
      return path
    case "missing":
      return path
  }
}

/** What the reader says about a kind it refuses, after the variable and the path. */
export const refusal: Record<Exclude<Kind, "regular" | "link to a regular file">, RegExp> = {
  "FIFO": /is not a regular file/,
  "link to a FIFO": /is not a regular file/,
  "/dev/zero": /is not a regular file/,
  "link to /dev/zero": /is not a regular file/,
  "directory": /is not a regular file/,
  "1 GiB (sparse)": /is larger than \d+ bytes/,
  "empty": /is empty/,
  "missing": /does not exist/
}

export type Variable = "AZURE_FEDERATED_TOKEN_FILE" | "AZURE_KUBERNETES_CA_FILE"

/** The host's variables with `variable` naming `path` (the CA file only with identity bindings). */
export const hostEnv = (emulator: ManagedIdentityEmulator.Emulator, variable: Variable, path: string) => ({
  ...emulator.env("WorkloadIdentity", { identityBindings: variable === "AZURE_KUBERNETES_CA_FILE" }),
  [variable]: path
})

/** The variables a file kind is tried in. */
export const variables: ReadonlyArray<Variable> = ["AZURE_FEDERATED_TOKEN_FILE", "AZURE_KUBERNETES_CA_FILE"]

/** Whether `kind` holds what the variable needs (a regular file, or a link to one, with valid content). */
export const isReadable = (kind: Kind): kind is "regular" | "link to a regular file" =>
  kind === "regular" || kind === "link to a regular file"

/** One `getToken` on that host, through the Node stack, with a few fast retries (a refusal is never retried). */
export const tokenOn = (emulator: ManagedIdentityEmulator.Emulator, variable: Variable, path: string) =>
  Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken("https://vault.azure.net"))
    .pipe(
      Effect.provide(
        clientLayer(emulator, ManagedIdentity.systemAssigned, {
          source: {
            identityBindings: variable === "AZURE_KUBERNETES_CA_FILE",
            retrySchedule: Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(3)))
          }
        })
      ),
      onHost(emulator, "WorkloadIdentity", hostEnv(emulator, variable, path)),
      Effect.exit
    )

/** The content a regular file of `variable` needs for a token: the emulator's assertion, or the proxy's CA. */
export const validContent = (emulator: ManagedIdentityEmulator.Emulator, variable: Variable) =>
  Effect.map(
    emulator.workloadIdentity.federatedToken,
    (token) =>
      new TextEncoder().encode(
        variable === "AZURE_FEDERATED_TOKEN_FILE" ? Redacted.value(token) : emulator.workloadIdentity.proxyCaCertificate
      )
  )
