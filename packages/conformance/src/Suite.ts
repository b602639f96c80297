/**
 * The conformance suite, written once for both lines against the `Line` interface and the test API of the runner
 * that runs it (vitest 3 for the 3.x line, vitest 5 for the Effect 4 line: they are different packages, so each
 * line's test file passes its own `describe`, `it` and `expect`).
 */
import { allSources } from "./Emulator.js"
import * as FaultMatrix from "./FaultMatrix.js"
import type { Line } from "./Line.js"
import * as SingleFlight from "./SingleFlight.js"
import * as Wire from "./Wire.js"

/** The part of vitest's API the suite uses (the same in vitest 3 and 5). */
export interface TestApi {
  readonly describe: (name: string, body: () => void) => void
  readonly it: (name: string, body: () => Promise<void> | void, timeout?: number) => void
  readonly beforeAll: (body: () => Promise<void>, timeout?: number) => void
  readonly expect: {
    <T>(actual: T, message?: string): {
      readonly toEqual: (expected: unknown) => void
      readonly toBeGreaterThanOrEqual: (expected: number) => void
      readonly toBeGreaterThan: (expected: number) => void
      readonly not: { readonly toContain: (expected: string) => void }
    }
  }
}

/** What to leave out of {@link register}. */
export interface Options {
  /**
   * `false` when the line runs the fault matrix's scenarios elsewhere with the same check: the 3.x line's
   * `FaultMatrix.test.ts` runs {@link FaultMatrix.cases} and {@link FaultMatrix.mismatches} through its own stack (and
   * checks its logs and spans too), so it does not run them twice.
   */
  readonly faultMatrix?: boolean
}

/** Registers the suite for `line`. */
export const register = (line: Line, { beforeAll, describe, expect, it }: TestApi, options: Options = {}): void => {
  describe(`conformance (${line.name}): the emulator-backed suite both Effect lines pass`, () => {
    it("every source sends exactly the wire requests in wire.json (method, path, query, headers, body)", async () => {
      const actual = await Wire.wire(line)
      expect(actual).toEqual(Wire.expected(actual))
    }, 60_000)

    it(`single flight: ${SingleFlight.callers} callers of one client at once, one request per source`, async () => {
      const results = await SingleFlight.run(line)
      for (const kind of allSources) expect(results[kind], kind).toEqual(SingleFlight.expected(kind))
    }, 120_000)

    if (options.faultMatrix === false) return
    describe("fault matrix: every fault kind × every source (FAULT_MATRIX.md)", () => {
      let run: FaultMatrix.Run | undefined
      const matrix = () => run!
      beforeAll(async () => {
        run = await FaultMatrix.run(line)
      }, 120_000)

      for (const kind of allSources) {
        it(`${kind}: error tag or token, and request count, for every fault`, () => {
          expect(FaultMatrix.mismatches(matrix(), kind)).toEqual([])
        })
      }

      it("429 with Retry-After: 1: the retry waits at least 1 s (the schedule alone would wait 50 ms)", () => {
        for (const kind of allSources) {
          const gap = matrix().cells.get("429 + Retry-After: 1 once")!.get(kind)!.gapMillis ?? 0
          expect(gap, kind).toBeGreaterThanOrEqual(1000)
        }
      })

      it("no error, printed or as JSON, holds a token, a secret or an Azure Arc key", () => {
        const { printedErrors, secrets, tokens } = matrix()
        expect(tokens.length).toBeGreaterThanOrEqual(allSources.length)
        expect(secrets.length).toBeGreaterThanOrEqual(4)
        expect(printedErrors.length).toBeGreaterThan(allSources.length * 10)
        const text = printedErrors.join("\n")
        for (const value of [...tokens, ...secrets, FaultMatrix.hostileToken]) expect(text).not.toContain(value)
        expect(text).not.toContain("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0")
      })
    })
  })
}
