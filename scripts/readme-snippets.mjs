#!/usr/bin/env node
// Type-checks the TypeScript blocks of README.md against the code as it is, so a snippet a user copies compiles.
// A block with `import`s is checked as written, a module of its own. A block without is a fragment: it is checked
// after a prelude that imports every module of the three packages and the Effect modules the README uses, and declares
// the placeholders it leaves to the reader (`myKeyValueStore`, an Azure SDK `SecretClient`); a fragment that uses
// `yield*` outside a generator is checked inside `Effect.gen`. Errors are reported at their README line.
// Blocks that import `@managed-identity/effect4` are checked against Effect 4, apart.
// Usage: node scripts/readme-snippets.mjs   (part of `pnpm check`)
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")
const readme = readFileSync(join(root, "README.md"), "utf8").split("\n")

const blocks = []
for (let index = 0; index < readme.length; index++) {
  if (readme[index].trim() !== "```ts") continue
  const start = index + 1
  while (readme[++index].trim() !== "```");
  blocks.push({ line: start + 1, code: readme.slice(start, index).join("\n") })
}

const modulesOf = (name) =>
  [...readFileSync(join(root, "packages", name, "src/index.ts"), "utf8").matchAll(/^export \* as (\w+) from/gm)]
    .map((match) => match[1])
const prelude = `import { HttpClient, KeyValueStore } from "@effect/platform"
import { Config, ConfigProvider, Effect, Layer, ManagedRuntime, Redacted, Schedule } from "effect"
import { ${modulesOf("core").join(", ")} } from "@managed-identity/core"
import { ${modulesOf("emulator").join(", ")} } from "@managed-identity/emulator"
import { ${modulesOf("platform-node").join(", ")} } from "@managed-identity/platform-node"
declare const myKeyValueStore: Layer.Layer<KeyValueStore.KeyValueStore>
/** Any Azure SDK client: it takes Azure's (structural) \`TokenCredential\`. */
declare class SecretClient {
  constructor(url: string, credential: {
    getToken(scopes: string | Array<string>, options?: { claims?: string; abortSignal?: AbortSignal }): Promise<
      { token: string; expiresOnTimestamp: number; refreshAfterTimestamp?: number; tokenType?: string } | null
    >
  })
}
`

/**
 * Type-checks `blocks` in a scratch folder whose `node_modules` is `nodeModules`: the examples' (Effect 3) for the
 * Effect 3 blocks, packages/effect4-node's (Effect 4, @managed-identity/effect4) for the blocks that import
 * `@managed-identity/effect4`.
 */
const check = (blocks, nodeModules) => {
  const scratch = mkdtempSync(join(tmpdir(), "managed-identity-readme-"))
  try {
    if (typeof nodeModules === "string") symlinkSync(nodeModules, join(scratch, "node_modules"))
    else nodeModules(join(scratch, "node_modules"))
    writeFileSync(join(scratch, "package.json"), JSON.stringify({ type: "module" }))
    writeFileSync(
      join(scratch, "tsconfig.json"),
      JSON.stringify({
        extends: join(root, "tsconfig.base.json"),
        compilerOptions: {
          noEmit: true,
          composite: false,
          incremental: false,
          declaration: false,
          declarationMap: false,
          noUnusedLocals: false,
          types: ["node"]
        },
        include: ["*.ts"]
      })
    )
    const files = blocks.map((block, index) => {
      const fragment = !/^import /m.test(block.code)
      const generator = fragment && block.code.includes("yield*") && !block.code.includes("function*")
      const head = fragment ? prelude + (generator ? "export const snippet = Effect.gen(function*() {\n" : "") : ""
      writeFileSync(join(scratch, `snippet${index}.ts`), `${head}${block.code}\n${generator ? "})\n" : ""}`)
      return { ...block, offset: head.split("\n").length - 1 }
    })
    try {
      execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", ".", "--pretty", "false"], {
        cwd: scratch,
        encoding: "utf8"
      })
    } catch (error) {
      const output = String(error.stdout).replace(/snippet(\d+)\.ts\((\d+),(\d+)\)/g, (_, file, line, column) => {
        const { offset, line: first } = files[Number(file)]
        return `README.md:${first + Number(line) - 1 - offset}:${column}`
      })
      console.error(output)
      process.exitCode = 1
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

const isEffect4 = (block) => /from "@managed-identity\/effect4(-node)?(\/\w+)?"/.test(block.code)
check(blocks.filter((block) => !isEffect4(block)), join(root, "examples", "node_modules"))
/** packages/effect4-node's dependencies, and the package itself (a package cannot import itself by name from outside). */
const effect4Modules = (target) => {
  const source = join(root, "packages", "effect4-node", "node_modules")
  mkdirSync(join(target, "@managed-identity"), { recursive: true })
  for (const name of readdirSync(source)) {
    if (name === "@managed-identity") continue
    symlinkSync(join(source, name), join(target, name))
  }
  for (const name of readdirSync(join(source, "@managed-identity"))) {
    symlinkSync(join(source, "@managed-identity", name), join(target, "@managed-identity", name))
  }
  symlinkSync(join(root, "packages", "effect4-node"), join(target, "@managed-identity", "effect4-node"))
}
check(blocks.filter(isEffect4), effect4Modules)
if (process.exitCode !== 1) console.log(`readme-snippets: ${blocks.length} TypeScript blocks of README.md type-check`)
