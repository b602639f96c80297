import { spawn } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { App } from "./bundle.js"
import { appEntries, bundlePath, cliBundlePath, outDirectory } from "./bundle.js"
import type { Emulator } from "./common.js"
import { log, median } from "./common.js"

const runs = 5
const here = Path.dirname(fileURLToPath(import.meta.url))

/** Milliseconds from spawning `node` to the first byte of output (the token) on stdout. */
const timeToToken = (emulator: Emulator, args: ReadonlyArray<string>) =>
  new Promise<number>((resolve, reject) => {
    const start = performance.now()
    let first: number | undefined
    let stderr = ""
    const child = spawn(process.execPath, args, { env: { ...process.env, ...emulator.env }, cwd: Path.dirname(here) })
    child.stdout.once("data", () => (first = performance.now() - start))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) =>
      code === 0 && first !== undefined
        ? resolve(first)
        : reject(new Error(`${args.join(" ")} exited ${code}: ${stderr}`)))
  })

export interface ColdStart {
  readonly name: string
  readonly app: App | "ours-cli"
  readonly bundled: boolean
  readonly millis: number
}

const variants: ReadonlyArray<{ readonly name: string; readonly app: App | "ours-cli"; readonly args: Array<string> }> =
  [
    {
      name: "CLI bundle: `node managed-identity.mjs token --resource … --json`",
      app: "ours-cli",
      args: [cliBundlePath, "token", "--resource", "https://vault.azure.net", "--json"]
    },
    { name: "app bundle (`NodeManagedIdentity.layer`)", app: "ours", args: [bundlePath("ours")] },
    { name: "app bundle (IMDS source over `fetch`)", app: "ours-imds", args: [bundlePath("ours-imds")] },
    { name: "app bundle", app: "msal-node", args: [bundlePath("msal-node")] },
    { name: "app bundle", app: "@azure/identity", args: [bundlePath("@azure/identity")] },
    { name: "plain script from node_modules", app: "msal-node", args: [appEntries["msal-node"]] },
    { name: "plain script from node_modules", app: "@azure/identity", args: [appEntries["@azure/identity"]] }
  ]

/** Figure 6: a fresh `node` process from start to first token; the bundles must have been built. */
export const run = async (emulator: Emulator): Promise<ReadonlyArray<ColdStart>> => {
  const samples = variants.map(() => [] as Array<number>)
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < variants.length; i++) samples[i].push(await timeToToken(emulator, variants[i].args))
  }
  return variants.map((variant, i) => {
    const millis = median(samples[i])
    log(`  ${variant.app} ${variant.name}: ${millis.toFixed(0)} ms`)
    return { name: variant.name, app: variant.app, bundled: variant.args[0].startsWith(outDirectory), millis }
  })
}
