// The only web APIs this package uses, declared here so that the compiler refuses any other: the package runs
// unchanged on Node, Bun, Deno and in browsers, which all have these (WHATWG URL and Encoding standards).

declare class URL {
  constructor(url: string, base?: string)
  readonly href: string
  readonly origin: string
  readonly protocol: string
  readonly username: string
  readonly password: string
  readonly host: string
  readonly hostname: string
  readonly port: string
  readonly pathname: string
  readonly search: string
  readonly hash: string
  toString(): string
}

declare class URLSearchParams {
  constructor(init?: Readonly<Record<string, string>>)
  toString(): string
}

declare class TextDecoder {
  constructor(label?: string, options?: { readonly fatal?: boolean })
  decode(input?: Uint8Array): string
}
