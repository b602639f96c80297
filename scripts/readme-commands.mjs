#!/usr/bin/env node
// Runs every command README.md shows, in the README's order, and fails on the first one that fails, so the README
// stays true. The commands are the lines of its fenced `sh` blocks and the code in the `command` column of its
// tables. Each block is one terminal: a variable exported by a line is seen by the next lines.
// - `# terminal 1` / `# terminal 2` comments split a block into terminals. A terminal's commands run in the
//   background and stay up while the next terminal runs; what they print (the emulator's `export` lines) is pasted
//   into the next terminal before its commands, as the README tells the reader to do. Ctrl-C (SIGINT) stops them.
// - `<!-- readme-check: skip: reason -->` just before a fence skips the block; `<!-- readme-check: skip `command`:
//   reason -->` skips the lines that start with that command. Every skip is printed with its reason.
// - A line that already ran is not run again. A `pnpm <name>` line, where <name> is a script of the root
//   package.json, must run that script (pnpm runs its own built-in command of the same name instead, e.g. `docs`).
// - `npm install -g` installs into a scratch prefix put first on PATH: the machine's global packages stay as they
//   are, and the `pnpm` the README installs is the one the next lines use.
// Usage: node scripts/readme-commands.mjs [README.md]   (commands run in the repository's root)
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative, resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")
const readmePath = resolve(process.argv[2] ?? join(root, "README.md"))
const readme = readFileSync(readmePath, "utf8").split("\n")
const where = (line) => `${relative(root, readmePath)}:${line}`
const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts
const commandTimeout = 10 * 60_000

/** The README as a list of terminals: `{ line, commands: [{ line, command, skip? }], background, skip? }`. */
const terminals = []
let markers = []
for (let index = 0; index < readme.length; index++) {
  const text = readme[index].trim()
  const marker = /^<!-- readme-check: skip(?: `([^`]+)`)?:\s*(.*?)\s*-->$/.exec(text)
  if (marker !== null) {
    markers.push({ command: marker[1], reason: marker[2] })
    continue
  }
  if (/^```(sh|bash|shell)$/.test(text)) {
    const skipOf = (command) => markers.find((skip) => skip.command && command.startsWith(skip.command))
    let terminal = { line: index + 1, commands: [], background: false, skip: markers.find((skip) => !skip.command) }
    terminals.push(terminal)
    while (readme[++index].trim() !== "```") {
      const line = index + 1
      let command = readme[index].trim()
      while (command.endsWith("\\")) command = `${command.slice(0, -1).trimEnd()} ${readme[++index].trim()}`
      if (/^# terminal \d/.test(command)) {
        if (terminal.commands.length > 0) {
          terminal.background = true
          terminal = { line, commands: [], background: false, skip: terminal.skip }
          terminals.push(terminal)
        }
      } else if (command !== "" && !command.startsWith("#")) {
        terminal.commands.push({ line, command, skip: skipOf(command) })
      }
    }
  } else if (text.startsWith("|") && /^\|[\s|:-]+\|$/.test(readme[index + 1]?.trim() ?? "")) {
    const column = text.split("|").map((cell) => cell.trim().toLowerCase()).indexOf("command")
    index++
    while (column > 0 && readme[index + 1]?.trim().startsWith("|")) {
      const cell = readme[++index].split("|")[column] ?? ""
      for (const code of cell.matchAll(/`([^`]+)`/g)) {
        terminals.push({ line: index + 1, commands: [{ line: index + 1, command: code[1] }], background: false })
      }
    }
  }
  if (text !== "") markers = []
}

const scratch = mkdtempSync(join(tmpdir(), "managed-identity-readme-"))
const globalPrefix = join(scratch, "global")
const env = {
  ...process.env,
  npm_config_prefix: globalPrefix,
  PATH: `${join(globalPrefix, "bin")}:${process.env.PATH}`
}
const seconds = (start) => `${((performance.now() - start) / 1000).toFixed(1)} s`
/** Bash that runs `command` in the terminal whose state (exported variables, directory) is in `state`. */
const inTerminal = (state, command) =>
  `set -eo pipefail\nsource ${JSON.stringify(state)}\n${command}\nstatus=$?\n` +
  `{ export -p; printf 'cd %q\\n' "$PWD"; } > ${JSON.stringify(state)}\nexit $status`

const ran = new Set()
const timings = []
const skipped = []
let pasted = ""
let background = []
let failed = false

/** Every command runs in a process group of its own, so that stopping it stops what it started. */
const running = new Set()
const spawnInTerminal = (command, state, stdio) => {
  const child = spawn("bash", ["-c", inTerminal(state, command)], { cwd: root, env, detached: true, stdio })
  running.add(child)
  child.on("exit", () => running.delete(child))
  return child
}
const killGroup = (child, signal) => {
  try {
    process.kill(-child.pid, signal)
  } catch {
    // the group is gone already
  }
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of running) killGroup(child, "SIGKILL")
    rmSync(scratch, { recursive: true, force: true })
    process.exit(130)
  })
}

/** Starts `command` in the background and resolves with what it printed once it printed its `export` lines. */
const startInBackground = (state, command) =>
  new Promise((resolve, reject) => {
    const child = spawnInTerminal(command, state, ["ignore", "pipe", "inherit"])
    let output = ""
    const timer = setTimeout(() => reject(new Error(`no export line within 60 s:\n${output}`)), 60_000)
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      const ready = /^export /m.test(output)
      output += chunk
      process.stdout.write(chunk)
      if (!ready && /^export /m.test(output)) setTimeout(() => (clearTimeout(timer), resolve({ child, output })), 500)
    })
    child.on("exit", (code) => (clearTimeout(timer), reject(new Error(`exited with ${code} before printing exports`))))
  })

/** Runs `command` to its end, its output shown as it comes; resolves with its exit code and output. */
const runInForeground = (state, command) =>
  new Promise((resolve) => {
    const child = spawnInTerminal(command, state, ["ignore", "pipe", "pipe"])
    let output = ""
    child.stdout.setEncoding("utf8").on("data", (chunk) => (output += chunk, process.stdout.write(chunk)))
    child.stderr.setEncoding("utf8").on("data", (chunk) => (output += chunk, process.stderr.write(chunk)))
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), commandTimeout)
    child.on("close", (code, signal) => (clearTimeout(timer), resolve({ code: code ?? signal, output })))
  })

/** Ctrl-C: SIGINT to the command's process group; it must be gone within 10 s. */
const interrupt = (child) =>
  new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return reject(new Error("it had already exited"))
    const timer = setTimeout(() => {
      killGroup(child, "SIGKILL")
      reject(new Error("still running 10 s after Ctrl-C"))
    }, 10_000)
    child.on("exit", () => (clearTimeout(timer), resolve()))
    killGroup(child, "SIGINT")
  })

try {
  for (const terminal of terminals) {
    const state = join(scratch, `terminal-${terminal.line}.sh`)
    writeFileSync(state, pasted)
    pasted = ""
    if (terminal.skip !== undefined) {
      console.log(`\n# ${where(terminal.line)} skipped, the whole block: ${terminal.skip.reason}`)
      skipped.push(`${where(terminal.line)}, the whole block (${terminal.skip.reason})`)
      continue
    }
    for (const { line, command, skip } of terminal.commands) {
      const key = command.replace(/\s+# .*$/, "")
      if (skip !== undefined) {
        console.log(`\n# ${where(line)} skipped: ${command}\n#   ${skip.reason}`)
        skipped.push(`${where(line)}, ${key} (${skip.reason})`)
        continue
      }
      if (ran.has(key)) {
        console.log(`\n# ${where(line)} ran above: ${key}`)
        continue
      }
      ran.add(key)
      console.log(`\n# ${where(line)}${terminal.background ? " (in the background)" : ""}\n$ ${command}`)
      const start = performance.now()
      if (terminal.background) {
        const started = await startInBackground(state, command)
        background.push({ ...started, command })
        pasted += started.output
        timings.push(`${seconds(start).padStart(8)}  ${key} (until its exports were printed)`)
        continue
      }
      const { code, output } = await runInForeground(state, command)
      timings.push(`${seconds(start).padStart(8)}  ${key}`)
      if (code !== 0) throw new Error(`${where(line)}: \`${key}\` failed (exit ${code})`)
      const script = /^pnpm ([\w:-]+)/.exec(key)?.[1]
      const ranScript = new RegExp(`^> \\S+ ${script} `, "m").test(output)
      if (script !== undefined && Object.hasOwn(scripts, script) && !ranScript) {
        throw new Error(`${where(line)}: \`${key}\` ran pnpm's built-in \`${script}\`, not the package.json script`)
      }
    }
    if (!terminal.background) {
      for (const { child, command } of background) {
        await interrupt(child).catch((error) => {
          throw new Error(`\`${command}\` (in the background): ${error.message}`)
        })
        console.log(`\n# Ctrl-C stopped: ${command}`)
      }
      background = []
    }
  }
} catch (error) {
  console.error(`\nreadme-commands: ${error.message}`)
  failed = true
} finally {
  for (const child of running) killGroup(child, "SIGKILL")
  rmSync(scratch, { recursive: true, force: true })
}
console.log(`\nreadme-commands: ${timings.length} commands ran${failed ? " until one failed" : ""}`)
console.log(timings.join("\n"))
if (skipped.length > 0) console.log(`skipped:\n${skipped.map((line) => `  ${line}`).join("\n")}`)
process.exitCode = failed ? 1 : 0
