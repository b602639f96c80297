#!/usr/bin/env node
// Writes the home page of a package's API docs, docs/index.md, from the package's README (what the package is,
// install, a first example), before @effect/docgen runs: docgen writes an empty "Home" page only where none exists.
// Relative links to the repository become absolute. With --check (after docgen), fails unless the home page is still
// that one and the module pages were generated.
// Usage (in a package directory): node ../../scripts/docs-home.mjs [--check]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const directory = process.cwd()
const { homepage, name } = JSON.parse(readFileSync(join(directory, "package.json"), "utf8"))
const readme = readFileSync(join(directory, "README.md"), "utf8")
const body = readme.replace(/^# .*\n/, "").replace(/\]\((?!https?:|#)([^)]+)\)/g, `](${homepage}/blob/main/$1)`)
const home = `---\ntitle: Home\nnav_order: 1\n---\n\n# ${name}\n${body}\nThe modules and every export are under [Modules](modules).\n`
const homePath = join(directory, "docs", "index.md")
if (process.argv.includes("--check")) {
  if (!existsSync(homePath) || readFileSync(homePath, "utf8") !== home) {
    throw new Error(`${homePath} is not the package's home page`)
  }
  if (!existsSync(join(directory, "docs", "modules", "index.ts.md"))) throw new Error(`no module pages for ${name}`)
  console.log(`docs-home: ${name}'s API docs open with what the package is`)
} else {
  mkdirSync(join(directory, "docs"), { recursive: true })
  writeFileSync(homePath, home)
}
