#!/usr/bin/env node
// A user installing from the registry, simulated: packs the four packages with `pnpm pack`, then in a scratch app
// outside the workspace runs the README's install command as written, with the package names replaced by the tarballs
// and the protocol's tarball added (it comes with core, and is not on the registry yet; everything else — the pinned
// Effect 3 lines — comes from the npm registry as it is today). There it checks:
// - the tarballs: LICENSE, README.md and CHANGELOG.md in each, no CLI sources or CLI-only dependencies in the library
//   (the bin is the self-contained bundle, so `@effect/cli` is not installed), and no emulator either; core depends
//   on the protocol by a version range, and the protocol depends on nothing;
// - the packaged CLI, the published bin without tsx: `emulator` in the background, `token` against it;
// - the README's first example, verbatim as `main.mjs`, against that emulator's IMDS on 127.0.0.1;
// - CommonJS: a `.cjs` app that `require()`s both packages and gets a token, on this Node and on every Node binary
//   listed in PACK_CHECK_NODES (colon-separated; CI passes Node 22's), since `engines` promises require(esm);
// - the emulator package: its README's install command, then its README's first example, verbatim as `emulator.mjs`.
// Usage: node scripts/pack-check.mjs   (run `pnpm build` first; `pnpm pack-check` does both)
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")
const scratch = mkdtempSync(join(tmpdir(), "managed-identity-pack-"))
const run = (command, args, cwd, env = process.env) =>
  execFileSync(command, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
const fail = (message) => {
  throw new Error(`pack-check: ${message}`)
}

/** A README's install command (the first `npm install` line from its Install section on) and its first example. */
const installOf = (path) => {
  const install = readFileSync(join(root, path), "utf8").split("\n## Install\n")[1] ?? fail(`no Install in ${path}`)
  return {
    command: /^npm install (.+)$/m.exec(install)?.[1].split(/\s+/) ?? fail(`no install command in ${path}`),
    example: /```ts\n([\s\S]*?)```/.exec(install)?.[1] ?? fail(`no first example in ${path}'s Install`)
  }
}
const library = installOf("README.md")
const emulatorPackage = installOf("packages/emulator/README.md")

/** The tarball `pnpm pack` wrote for the package `name`. */
const tarballOf = (name) => {
  const prefix = `${name.slice(1).replace("/", "-")}-`
  return readdirSync(scratch).find((file) => file.startsWith(prefix) && file.endsWith(".tgz")) ??
    fail(`no tarball for ${name}`)
}

try {
  for (const name of ["protocol", "core", "emulator", "platform-node"]) {
    run("pnpm", ["pack", "--pack-destination", scratch], join(root, "packages", name))
  }
  const tarballs = readdirSync(scratch).filter((file) => file.endsWith(".tgz"))
  for (const tarball of tarballs) {
    const files = run("tar", ["-tzf", join(scratch, tarball)], scratch).split("\n")
    for (const file of ["LICENSE", "README.md", "CHANGELOG.md", "package.json"]) {
      if (!files.includes(`package/${file}`)) fail(`${tarball} has no ${file}`)
    }
    const cli = files.filter((file) => /^package\/(src|dist)\/cli\//.test(file))
    if (cli.length > 0) fail(`${tarball} ships CLI sources outside the bundle: ${cli.join(", ")}`)
  }
  const manifest = (name) =>
    JSON.parse(run("tar", ["-xzOf", join(scratch, tarballOf(name)), "package/package.json"], scratch))
  const { version } = manifest("@managed-identity/protocol")
  const protocolRange = manifest("@managed-identity/core").dependencies?.["@managed-identity/protocol"]
  if (protocolRange !== `^${version}`) fail(`core's tarball depends on @managed-identity/protocol ${protocolRange}`)
  const protocolDependencies = Object.keys(manifest("@managed-identity/protocol").dependencies ?? {})
  if (protocolDependencies.length > 0) fail(`the protocol's tarball depends on ${protocolDependencies.join(", ")}`)
  const app = join(scratch, "app")
  mkdirSync(app)
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch-app", private: true, type: "module" }))
  const npmInstall = (command) => {
    const args = [
      ...command.map((arg) => arg.startsWith("@managed-identity/") ? join(scratch, tarballOf(arg)) : arg),
      join(scratch, tarballOf("@managed-identity/protocol"))
    ]
    console.log(`pack-check: npm install ${args.join(" ")}`)
    run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...args], app)
  }
  npmInstall(library.command)
  for (const cliOnly of ["@effect/cli", "@effect/printer", "@effect/printer-ansi", "@managed-identity/emulator"]) {
    if (existsSync(join(app, "node_modules", cliOnly))) fail(`installing the library brought the CLI's ${cliOnly}`)
  }

  const cli = join(app, "node_modules", ".bin", "managed-identity")
  if (!run(cli, ["--help"], app).includes("token")) fail("the packaged CLI did not print its help")
  const emulator = spawn(cli, ["emulator", "--all", "--json"], { cwd: app, stdio: ["ignore", "pipe", "inherit"] })
  try {
    const env = await new Promise((resolve, reject) => {
      let text = ""
      emulator.stdout.setEncoding("utf8").on("data", (chunk) => {
        text += chunk
        if (text.includes("\n")) resolve(JSON.parse(text).env)
      })
      emulator.on("exit", (code) => reject(new Error(`the packaged emulator exited with ${code}`)))
    })
    const withSource = (source) => ({ PATH: process.env.PATH, ...env[source] })
    const token = JSON.parse(run(cli, ["token", "--resource", "https://vault.azure.net", "--json"], app, withSource("AppService")))
    if (token.resource !== "https://vault.azure.net" || token.source !== "identity_provider") {
      fail(`unexpected token from the packaged CLI: ${JSON.stringify({ ...token, accessToken: "…" })}`)
    }

    writeFileSync(join(app, "main.mjs"), library.example)
    const printed = run(process.execPath, ["main.mjs"], app, withSource("Imds")).trim()
    if (!/^Imds: a token for https:\/\/vault\.azure\.net until \d{4}-\d\d-\d\dT/.test(printed)) {
      fail(`the README's first example printed ${JSON.stringify(printed)}`)
    }

    writeFileSync(
      join(app, "require.cjs"),
      `const { ManagedIdentityClient } = require("@managed-identity/core")
const { NodeManagedIdentity } = require("@managed-identity/platform-node")
const { Effect } = require("effect")

Effect.runPromise(
  Effect.flatMap(ManagedIdentityClient.ManagedIdentityClient, (client) => client.getToken("https://vault.azure.net"))
    .pipe(Effect.provide(NodeManagedIdentity.layer))
).then((token) => console.log(\`require(esm) on \${process.version}: \${token.source} \${token.resource}\`))
`
    )
    const nodes = [process.execPath, ...(process.env.PACK_CHECK_NODES ?? "").split(":").filter((path) => path !== "")]
    for (const node of nodes) {
      const line = run(node, ["require.cjs"], app, withSource("Imds")).trim()
      if (!/^require\(esm\) on v\d+\.\d+\.\d+: identity_provider https:\/\/vault\.azure\.net$/.test(line)) {
        fail(`the CommonJS app printed ${JSON.stringify(line)}`)
      }
      console.log(`pack-check: ${line}`)
    }
  } finally {
    emulator.kill()
  }

  npmInstall(emulatorPackage.command)
  writeFileSync(join(app, "emulator.mjs"), emulatorPackage.example)
  const printed = run(process.execPath, ["emulator.mjs"], app, { PATH: process.env.PATH }).trim()
  if (printed !== "a token for https://vault.azure.net after 2 requests (the first answered 500)") {
    fail(`the emulator's README example printed ${JSON.stringify(printed)}`)
  }
  console.log(`pack-check: ${printed}`)
  console.log(
    `pack-check: the README's install command, first example and the CLI work outside the workspace (${
      tarballs.join(", ")
    })`
  )
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
