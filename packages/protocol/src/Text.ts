/**
 * Text as people may safely see it: escaping what could drive a terminal or fake a line of output.
 *
 * @since 0.1.0
 */

/**
 * Whether the character is a control character (C0, DEL, C1) or one that reorders or hides text (bidirectional
 * controls, line and paragraph separators).
 */
const isUnprintable = (code: number): boolean =>
  code <= 0x1f || (code >= 0x7f && code <= 0x9f) || code === 0x61c || code === 0x200e || code === 0x200f ||
  code === 0x2028 || code === 0x2029 || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)

const shortEscapes: Readonly<Record<number, string>> = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r" }

const escapeCode = (code: number): string =>
  shortEscapes[code] ??
    (code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`)

/**
 * Text as a terminal or a log line may show it: every control character (C0, DEL, C1) and every character that
 * reorders or hides text (bidirectional controls, line and paragraph separators) is written as an escape (`\n`,
 * `\x1b`, `\u202e`), so text an endpoint sent can neither drive the terminal (clear the screen, write the clipboard
 * with OSC 52) nor fake a line of output. Anything else is left as it is, backslashes included, so it can be applied
 * twice. Every problem's message goes through it (`Problem.messageOf`); JSON output needs no such escaping.
 *
 * @since 0.1.0
 * @category formatting
 */
export const printable = (text: string): string => {
  let shown = ""
  let from = 0
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (isUnprintable(code)) {
      shown += text.slice(from, index) + escapeCode(code)
      from = index + 1
    }
  }
  return from === 0 ? text : shown + text.slice(from)
}
