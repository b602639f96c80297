import { execFile } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { Emulator, Library, Row } from "./common.js"
import { libraries, log } from "./common.js"

const count = 10_000
/** msal-node fails part of 10 000 fresh requests in a row here ("fetch failed"), and the run must stay short. */
const peerCount = 2_000
const here = Path.dirname(fileURLToPath(import.meta.url))

interface Outcome {
  readonly bytesPerToken: number
  readonly tokenLength: number
}

const measure = (emulator: Emulator, library: Library) =>
  new Promise<Outcome>((resolve, reject) =>
    execFile(
      process.execPath,
      [
        "--expose-gc",
        "--import",
        "tsx",
        Path.join(here, "memoryChild.ts"),
        library,
        String(library === "ours" ? count : peerCount)
      ],
      { env: { ...process.env, ...emulator.env }, cwd: Path.dirname(here), maxBuffer: 1 << 20 },
      (error, stdout, stderr) => error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout))
    )
  )

/** Figure 5: heap growth per cached token, each library in a fresh process run with `--expose-gc`. */
export const run = async (emulator: Emulator): Promise<ReadonlyArray<Row>> => {
  const outcomes: Partial<Record<Library, Outcome>> = {}
  for (const library of libraries) {
    const outcome = await measure(emulator, library)
    outcomes[library] = outcome
    log(`  ${library}: ${outcome.bytesPerToken.toFixed(0)} bytes per token (token ${outcome.tokenLength} characters)`)
  }
  const values = (f: (outcome: Outcome) => number) =>
    Object.fromEntries(libraries.map((library) => [library, f(outcomes[library]!)]))
  const figure = "5. Memory"
  return [
    {
      figure,
      metric: `heap growth per cached token at ${count.toLocaleString("en-US")} resources`,
      unit: "bytes",
      lowerIsBetter: true,
      values: values((o) => o.bytesPerToken),
      note: `the emulator's access token is ${outcomes.ours!.tokenLength} characters; peers measured at ${
        peerCount.toLocaleString("en-US")
      } resources`
    },
    {
      figure,
      metric: "the same, less the access token's own characters",
      unit: "bytes",
      lowerIsBetter: true,
      values: values((o) => o.bytesPerToken - o.tokenLength)
    }
  ]
}
