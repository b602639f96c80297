/**
 * The demo's table: a row per step, a long result wrapped inside its column, the text an endpoint sent shown escaped.
 */
import { printable } from "@managed-identity/core/ManagedIdentityError"

/** One step of the demo: the source, what was done, what came of it and how long it took. */
export interface Row {
  readonly source: string
  readonly step: string
  readonly result: string
  readonly millis: number
}

const formatMillis = (millis: number): string =>
  millis < 1 ? `${(millis * 1000).toFixed(0)} µs` : `${millis.toFixed(1)} ms`

/** The table fits a terminal this wide: a long result wraps inside its column. */
const tableWidth = 120

/** `text` in lines of at most `width` characters, broken after a comma where a clause fits, else at spaces. */
const wrap = (text: string, width: number): ReadonlyArray<string> => {
  const lines: Array<string> = []
  const add = (piece: string) => {
    const last = lines.length - 1
    if (last >= 0 && lines[last].length + 1 + piece.length <= width) {
      lines[last] = `${lines[last]} ${piece}`
    } else {
      lines.push(piece)
    }
  }
  for (const clause of text.split(/(?<=,) /)) {
    const pieces = clause.length <= width ? [clause] : clause.split(" ")
    for (const piece of pieces.flatMap((piece) => piece.match(new RegExp(`.{1,${width}}`, "g")) ?? [""])) add(piece)
  }
  return lines
}

/** The rows as a table that fits {@link tableWidth} columns. */
export const table = (unescaped: ReadonlyArray<Row>): string => {
  const rows = unescaped.map((row) => ({ ...row, result: printable(row.result) }))
  const width = (pick: (row: Row) => string, title: string) =>
    Math.max(title.length, ...rows.map((row) => pick(row).length))
  const timeWidth = 9
  const sourceWidth = width((row) => row.source, "Source")
  const stepWidth = width((row) => row.step, "Step")
  const resultWidth = Math.max(
    "Result".length,
    Math.min(width((row) => row.result, "Result"), tableWidth - sourceWidth - stepWidth - timeWidth - 6)
  )
  const line = (source: string, step: string, result: string, time: string) =>
    [source.padEnd(sourceWidth), step.padEnd(stepWidth), result.padEnd(resultWidth), time.padStart(timeWidth)]
      .join("  ")
      .trimEnd()
  return [
    line("Source", "Step", "Result", "Time"),
    line("-".repeat(sourceWidth), "-".repeat(stepWidth), "-".repeat(resultWidth), "-".repeat(timeWidth)),
    ...rows.flatMap((row, index) => {
      const [first, ...rest] = wrap(row.result, resultWidth)
      return [
        line(
          index > 0 && rows[index - 1].source === row.source ? "" : row.source,
          row.step,
          first,
          formatMillis(row.millis)
        ),
        ...rest.map((more) => line("", "", more, ""))
      ]
    })
  ].join("\n")
}
