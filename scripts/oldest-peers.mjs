#!/usr/bin/env node
// Checks the library against the oldest peers its package.json files claim: copies the packages (sources, tests,
// configs; the emulator, the conformance scenarios and the test helpers too, which the tests use) into a scratch
// workspace outside this one, pins `effect`, `@effect/platform` and `@effect/platform-node` to the lowest versions of
// the peer ranges (and the Effect packages the tests and the CLI build on to their lines for that Effect), installs
// from the npm registry, then type-checks sources and tests and runs a focused set of tests: the client and its cache,
// every source over a fake HttpClient, and the Node layers against the emulator.
// Usage: node scripts/oldest-peers.mjs
import { execFileSync } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")
const scratch = mkdtempSync(join(tmpdir(), "managed-identity-oldest-peers-"))

/** The lowest version of a `^x.y.z` range, or of the first range of an `a || b` union. */
const lowest = (range) => {
  const match = /^(?:\^|>=)?(\d+\.\d+\.\d+)/.exec(range.split("||")[0].trim())
  if (match === null) throw new Error(`cannot find the lowest version of ${range}`)
  return match[1]
}

const platformNode = JSON.parse(readFileSync(join(root, "packages/platform-node/package.json"), "utf8"))
const peers = Object.fromEntries(Object.entries(platformNode.peerDependencies).map(([name, range]) => [name, lowest(range)]))
for (const name of ["core", "emulator"]) {
  const { peerDependencies } = JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8"))
  for (const [peer, range] of Object.entries(peerDependencies)) {
    if (platformNode.peerDependencies[peer] !== range) throw new Error(`the packages' ${peer} peer ranges differ`)
  }
}
// The tests' and the CLI's own Effect packages, on their line for that oldest Effect (they are not peers).
const companions = {
  "@effect/vitest": "0.30.0",
  "@effect/cli": "0.76.0",
  "@effect/printer": "0.50.0",
  "@effect/printer-ansi": "0.50.0"
}
const pins = { ...peers, ...companions }

/** The focused set: the client, the cache, the sources and the Node layers over real sockets. */
const tests = [
  "packages/core/test/ManagedIdentityClient.test.ts",
  "packages/core/test/TokenCache.test.ts",
  "packages/core/test/TokenCredential.test.ts",
  "packages/core/test/ImdsTokenSource.test.ts",
  "packages/core/test/AppServiceTokenSource.test.ts",
  "packages/core/test/ServiceFabricTokenSource.test.ts",
  "packages/core/test/AzureArcTokenSource.test.ts",
  "packages/core/test/WorkloadIdentityTokenSource.test.ts",
  "packages/core/test/ManagedIdentitySource.test.ts",
  "packages/platform-node/test/NodeManagedIdentity.test.ts",
  "packages/platform-node/test/NodeTokenCache.test.ts",
  "packages/platform-node/test/ServiceFabricPinning.test.ts"
]

const run = (command, args) => {
  console.log(`== ${command} ${args.join(" ")}`)
  execFileSync(command, args, { cwd: scratch, stdio: "inherit" })
}

try {
  const packages = ["protocol", "core", "emulator", "conformance", "platform-node", "test-utils"].map((name) => `packages/${name}`)
  for (const file of ["tsconfig.base.json", "vitest.shared.ts", "vitest.setup.ts", ...packages]) {
    cpSync(join(root, file), join(scratch, file), {
      recursive: true,
      filter: (source) => !/[/\\](node_modules|dist|build|docs|\.tsbuildinfo)$/.test(source)
    })
  }
  const rootPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
  writeFileSync(
    join(scratch, "package.json"),
    JSON.stringify({
      name: "managed-identity-oldest-peers",
      private: true,
      type: "module",
      devDependencies: Object.fromEntries(
        ["@types/node", "typescript", "vitest", "@effect/vitest", "tsx", "@managed-identity/test-utils"].map((name) => [
          name,
          rootPackage.devDependencies[name]
        ])
      )
    })
  )
  writeFileSync(
    join(scratch, "pnpm-workspace.yaml"),
    [
      "packages:",
      "  - packages/*",
      "onlyBuiltDependencies:",
      "  - esbuild",
      "overrides:",
      ...Object.entries(pins).map(([name, version]) => `  "${name}": "${version}"`)
    ].join("\n") + "\n"
  )
  writeFileSync(
    join(scratch, "vitest.config.ts"),
    `import { defineConfig } from "vitest/config"\nexport default defineConfig({ test: { projects: ["packages/*"] } })\n`
  )
  run("pnpm", ["install", "--no-frozen-lockfile", "--config.strict-peer-dependencies=false", "--reporter=silent"])
  run("pnpm", ["exec", "tsc", "-b", "packages/core", "packages/platform-node"])
  run("pnpm", ["exec", "vitest", "run", ...tests])
  const installed = Object.keys(peers).map((name) =>
    `${name}@${JSON.parse(readFileSync(join(scratch, "packages/platform-node/node_modules", name, "package.json"), "utf8")).version}`
  )
  console.log(`oldest-peers: type check and focused tests pass with ${installed.join(", ")}`)
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
