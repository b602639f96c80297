#!/usr/bin/env node
// The Effect 4 line installed from the registry, simulated (the sibling of pack-check.mjs, run by `pnpm pack-check`
// after it): packs the protocol and the two Effect 4 packages with `pnpm pack`, then in a scratch app outside the
// workspace runs the README's Effect 4 install command as written, the package names replaced by the tarballs and
// the protocol's tarball added (it is not on the registry yet) — so `effect` and `@effect/platform-node` come from
// the npm registry's `latest`, as a user gets them today. There, on a Node that Effect 4 runs on (>= 22.19: this one,
// or PACK_CHECK_EFFECT4_NODE), it checks:
// - the tarballs: LICENSE, README.md, CHANGELOG.md and package.json in each, the Effect 4 packages depend on the
//   protocol by a version range, and `npm ls` finds no peer conflict;
// - the README's Effect 4 example, verbatim as `main.mjs`, against the emulator's IMDS on 127.0.0.1;
// - a token through every source: `every-source.mjs` (`NodeManagedIdentity.layerWithOptions`, Azure Arc's keys read
//   from the emulator's directory) with each source's variables as the emulator prints them.
// The emulator is the workspace's (`managed-identity emulator --all --json`): the emulator and the CLI are single.
// Usage: node scripts/pack-check-effect4.mjs   (run `pnpm build` first; `pnpm pack-check` does both)
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")
const fail = (message) => {
  throw new Error(`pack-check-effect4: ${message}`)
}
const [major, minor] = process.versions.node.split(".").map(Number)
const node = major > 22 || (major === 22 && minor >= 19) ? process.execPath : process.env.PACK_CHECK_EFFECT4_NODE
if (node === undefined) {
  fail(`Effect 4 needs Node >= 22.19; this is ${process.version}: set PACK_CHECK_EFFECT4_NODE to such a node binary`)
}
const scratch = mkdtempSync(join(tmpdir(), "managed-identity-pack-effect4-"))
const run = (command, args, cwd, env = process.env) =>
  execFileSync(command, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })

const section = readFileSync(join(root, "README.md"), "utf8").split("\n### Effect 4\n")[1] ??
  fail("no Effect 4 section in README.md")
const command = /^npm install (.+)$/m.exec(section)?.[1].split(/\s+/) ?? fail("no install command in Effect 4")
const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? fail("no example in Effect 4")

const tarballOf = (name) => {
  const prefix = `${name.slice(1).replace("/", "-")}-`
  return readdirSync(scratch).find((file) => file.startsWith(prefix) && /^\d/.test(file.slice(prefix.length))) ??
    fail(`no tarball for ${name}`)
}

const everySource = `import { ManagedIdentityClient } from "@managed-identity/effect4"
import { NodeManagedIdentity } from "@managed-identity/effect4-node"
import { Effect, Layer } from "effect"
import * as ManagedIdentity from "@managed-identity/effect4/ManagedIdentity"

const program = Effect.gen(function*() {
  const client = yield* ManagedIdentityClient.ManagedIdentityClient
  const token = yield* client.getToken("https://vault.azure.net")
  console.log(\`\${client.source} \${token.resource}\`)
})

// On the federated credential's host, the emulator's application's token (the managed identity its credential).
const layer = NodeManagedIdentity.layerWithOptions({
  source: { azureArcKeyDirectory: process.env.ARC_KEY_DIRECTORY },
  federatedCredential: process.env.MANAGED_IDENTITY_FEDERATED_CLIENT_ID === undefined ? undefined : "config"
})
Effect.runPromise(program.pipe(Effect.provide(layer.pipe(Layer.provide(ManagedIdentity.layerSystemAssigned)))))
`

try {
  for (const name of ["protocol", "effect4", "effect4-node"]) {
    run("pnpm", ["pack", "--pack-destination", scratch], join(root, "packages", name))
  }
  const tarballs = readdirSync(scratch).filter((file) => file.endsWith(".tgz"))
  for (const tarball of tarballs) {
    const files = run("tar", ["-tzf", join(scratch, tarball)], scratch).split("\n")
    for (const file of ["LICENSE", "README.md", "CHANGELOG.md", "package.json"]) {
      if (!files.includes(`package/${file}`)) fail(`${tarball} has no ${file}`)
    }
  }
  const manifest = (name) =>
    JSON.parse(run("tar", ["-xzOf", join(scratch, tarballOf(name)), "package/package.json"], scratch))
  const { version } = manifest("@managed-identity/protocol")
  const range = manifest("@managed-identity/effect4").dependencies?.["@managed-identity/protocol"]
  if (range !== `^${version}`) fail(`effect4's tarball depends on @managed-identity/protocol ${range}`)

  const app = join(scratch, "app")
  mkdirSync(app)
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch-effect4-app", private: true, type: "module" }))
  const args = [
    ...command.map((arg) => arg.startsWith("@managed-identity/") ? join(scratch, tarballOf(arg)) : arg),
    join(scratch, tarballOf("@managed-identity/protocol"))
  ]
  console.log(`pack-check-effect4: npm install ${args.join(" ")}`)
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...args], app)
  run("npm", ["ls", "--all"], app)
  const installed = (name) => JSON.parse(readFileSync(join(app, "node_modules", name, "package.json"), "utf8")).version
  const latest = run("npm", ["view", "effect@latest", "version"], app).trim()
  if (installed("effect") !== latest) fail(`installed effect ${installed("effect")}, the registry's latest is ${latest}`)
  console.log(`pack-check-effect4: effect ${installed("effect")} (latest), @effect/platform-node ${
    installed("@effect/platform-node")
  }`)

  const emulator = spawn(
    process.execPath,
    ["--import", "tsx", join(root, "packages/platform-node/src/bin/managed-identity.ts"), "emulator", "--all", "--json"],
    { cwd: join(root, "packages/platform-node"), stdio: ["ignore", "pipe", "inherit"] }
  )
  try {
    const started = await new Promise((resolve, reject) => {
      let text = ""
      emulator.stdout.setEncoding("utf8").on("data", (chunk) => {
        text += chunk
        if (text.includes("\n")) resolve(JSON.parse(text))
      })
      emulator.on("exit", (code) => reject(new Error(`the emulator exited with ${code}`)))
    })
    const withSource = (source) => ({
      PATH: process.env.PATH,
      ARC_KEY_DIRECTORY: started.arcKeyDirectory,
      ...started.env[source]
    })

    writeFileSync(join(app, "main.mjs"), example)
    const printed = run(node, ["main.mjs"], app, withSource("Imds")).trim()
    if (!/^Imds: a token for https:\/\/vault\.azure\.net until \d{4}-\d\d-\d\dT/.test(printed)) {
      fail(`the README's Effect 4 example printed ${JSON.stringify(printed)}`)
    }
    console.log(`pack-check-effect4: main.mjs: ${printed}`)

    writeFileSync(join(app, "every-source.mjs"), everySource)
    for (const source of Object.keys(started.env)) {
      const line = run(node, ["every-source.mjs"], app, withSource(source)).trim()
      if (line !== `${source} https://vault.azure.net`) fail(`${source}: every-source.mjs printed ${JSON.stringify(line)}`)
      console.log(`pack-check-effect4: a token through ${source}`)
    }
  } finally {
    emulator.kill()
  }
  console.log(`pack-check-effect4: an Effect 4 app outside the workspace installs ${
    tarballs.join(", ")
  } with the registry's latest Effect and gets a token through every source`)
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
