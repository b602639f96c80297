import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as AST from "effect/SchemaAST"

/** The issues whose message this library wrote (it never holds the received value). */
const written = new WeakSet<ParseResult.ParseIssue>()

/** A decoding failure with a message written here, which {@link describe} shows as it is. */
export const fail = (ast: AST.AST, actual: unknown, message: string): ParseResult.Type => {
  const issue = new ParseResult.Type(ast, actual, message)
  written.add(issue)
  return issue
}

const maxIssues = 3
const maxExpectedLength = 160
const maxKeyLength = 64

const cut = (text: string, max: number): string => text.length > max ? `${text.slice(0, max)}…` : text

const annotated = (ast: AST.AST): string | undefined =>
  Option.getOrUndefined(
    AST.getDescriptionAnnotation(ast).pipe(
      Option.orElse(() => AST.getTitleAnnotation(ast)),
      Option.orElse(() => AST.getIdentifierAnnotation(ast))
    )
  )

/** What a schema expects, in words taken from the schema alone. */
const expectedOf = (ast: AST.AST): string => {
  const own = annotated(ast)
  if (own !== undefined) return cut(own, maxExpectedLength)
  switch (ast._tag) {
    case "Literal":
      return JSON.stringify(ast.literal) ?? String(ast.literal)
    case "Union":
      return cut(
        ast.types.filter((member) => !AST.isUndefinedKeyword(member)).map(expectedOf).join(" or "),
        maxExpectedLength
      )
    case "TypeLiteral":
      return "an object"
    case "TupleType":
      return "an array"
    case "Refinement":
      return expectedOf(ast.from)
    case "Transformation":
      return expectedOf(ast.to)
    default:
      return cut(String(ast), maxExpectedLength)
  }
}

const toArray = <A>(value: ParseResult.SingleOrNonEmpty<A>): ReadonlyArray<A> =>
  Array.isArray(value) ? value : [value as A]

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((key) => `[${typeof key === "string" ? JSON.stringify(cut(key, maxKeyLength)) : String(key)}]`).join("")

interface Pending {
  readonly issue: ParseResult.ParseIssue
  readonly path: ReadonlyArray<PropertyKey>
  /** What the outermost described schema at this path expects. */
  readonly expected: string | undefined
}

/**
 * Describes a decoding failure by the fields it concerns and what each expected, never by the value received (it may
 * be token material, or nested too deep to print: Effect's own formatters print it, recursively). The issue tree is
 * walked without recursion and at most three problems are named.
 */
export const describe = (issue: ParseResult.ParseIssue): string => {
  const problems: Array<string> = []
  const pending: Array<Pending> = [{ issue, path: [], expected: undefined }]
  const report = (path: ReadonlyArray<PropertyKey>, text: string) =>
    problems.push(path.length === 0 ? text : `${formatPath(path)}: ${text}`)
  while (pending.length > 0 && problems.length < maxIssues) {
    const { expected, issue: current, path } = pending.pop()!
    switch (current._tag) {
      case "Pointer":
        pending.push({
          issue: current.issue,
          path: [...path, ...toArray(current.path)],
          expected: undefined
        })
        break
      case "Composite":
        if (AST.isUnion(current.ast)) {
          report(path, `expected ${expected ?? expectedOf(current.ast)}`)
        } else {
          const inner = toArray(current.issues)
          for (let i = inner.length - 1; i >= 0; i--) pending.push({ issue: inner[i], path, expected })
        }
        break
      case "Refinement":
      case "Transformation":
        pending.push({ issue: current.issue, path, expected: expected ?? annotated(current.ast) })
        break
      case "Type":
        report(
          path,
          written.has(current) && current.message !== undefined
            ? current.message
            : `expected ${expected ?? expectedOf(current.ast)}`
        )
        break
      case "Missing":
        report(path, "is missing")
        break
      case "Unexpected":
        report(path, "is not allowed")
        break
      case "Forbidden":
        report(path, "cannot be checked")
        break
    }
  }
  return problems.join("; ")
}
