#!/usr/bin/env node
// Packs both packages with `pnpm pack`, installs the tarballs into a scratch project outside the workspace with
// npm, and runs the README's first example there (against the emulator, on 127.0.0.1), then the packaged CLI — the
// published bin, the bundle, without tsx — by hand: `emulator` in the background and `token` against it.
// Usage: node scripts/pack-check.mjs   (run `pnpm build` first; `pnpm pack-check` does both)
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")
const scratch = mkdtempSync(join(tmpdir(), "managed-identity-pack-"))
const run = (command, args, cwd, env = process.env) =>
  execFileSync(command, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })

try {
  for (const name of ["core", "platform-node"]) {
    run("pnpm", ["pack", "--pack-destination", scratch], join(root, "packages", name))
  }
  const tarballs = readdirSync(scratch).filter((file) => file.endsWith(".tgz"))
  const tarball = (name) => `file:${join(scratch, tarballs.find((file) => file.includes(name)))}`
  const app = join(scratch, "app")
  run("mkdir", ["-p", app], scratch)
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({
      name: "scratch-app",
      private: true,
      type: "module",
      dependencies: {
        "@managed-identity/core": tarball("managed-identity-core"),
        "@managed-identity/platform-node": tarball("managed-identity-platform-node"),
        "@effect/platform": "^0.97.2",
        "@effect/platform-node": "^0.108.2",
        "effect": "^3.22.4"
      }
    })
  )
  writeFileSync(
    join(app, "main.mjs"),
    `import { ManagedIdentityClient } from "@managed-identity/core"
import { ManagedIdentityEmulator, NodeManagedIdentity } from "@managed-identity/platform-node"
import { ConfigProvider, Effect, Redacted } from "effect"

const program = Effect.gen(function*() {
  const client = yield* ManagedIdentityClient.ManagedIdentityClient
  const token = yield* client.getToken("https://vault.azure.net")
  const again = yield* client.getToken("https://vault.azure.net")
  return \`\${client.source} \${token.source} \${again.source} \${Redacted.value(token.token).split(".").length}\`
})

const result = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const emulator = yield* ManagedIdentityEmulator.start()
  return yield* program.pipe(
    Effect.provide(NodeManagedIdentity.layer),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(emulator.env("Imds")))))
  )
})))
console.log(result)
`
  )
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], app)
  const output = run("node", ["main.mjs"], app).trim()
  if (output !== "Imds identity_provider cache 3") throw new Error(`unexpected output from the packed library: ${output}`)
  const cli = join(app, "node_modules", ".bin", "managed-identity")
  if (!run(cli, ["--help"], app).includes("token")) throw new Error("the packaged CLI did not print its help")
  const emulator = spawn(cli, ["emulator", "--source", "app-service", "--json"], {
    cwd: app,
    stdio: ["ignore", "pipe", "inherit"]
  })
  try {
    const variables = await new Promise((resolve, reject) => {
      let text = ""
      emulator.stdout.setEncoding("utf8").on("data", (chunk) => {
        text += chunk
        if (text.includes("\n")) resolve(JSON.parse(text).env.AppService)
      })
      emulator.on("exit", (code) => reject(new Error(`the packaged emulator exited with ${code}`)))
    })
    const token = JSON.parse(
      run(cli, ["token", "--resource", "https://vault.azure.net", "--json"], app, {
        PATH: process.env.PATH,
        ...variables
      })
    )
    if (token.resource !== "https://vault.azure.net" || token.source !== "identity_provider") {
      throw new Error(`unexpected token from the packaged CLI: ${JSON.stringify({ ...token, accessToken: "…" })}`)
    }
  } finally {
    emulator.kill()
  }
  console.log(
    `pack-check: the packed tarballs install and run outside the workspace, the CLI too (${tarballs.join(", ")})`
  )
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
