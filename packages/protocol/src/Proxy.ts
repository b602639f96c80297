/**
 * Which proxy variables would send a request through a proxy: `http_proxy`/`HTTP_PROXY` for `http`,
 * `https_proxy`/`HTTPS_PROXY` for `https`, `all_proxy`/`ALL_PROXY` for both, unless `no_proxy`/`NO_PROXY` excludes the
 * host. Node 22/24 (`NODE_USE_ENV_PROXY=1`), undici's `EnvHttpProxyAgent` and Bun's `fetch` read the first two pairs;
 * curl and many tools read `ALL_PROXY` too.
 *
 * @since 0.1.0
 */
import type * as Diagnosis from "./Diagnosis.js"
import * as Host from "./Host.js"

/**
 * The environment, by variable name (a set-but-empty variable counts as unset).
 *
 * @since 0.1.0
 * @category models
 */
export type Environment = Readonly<Record<string, string | undefined>>

/**
 * Every variable this module reads, lower case before upper case as runtimes look them up.
 *
 * @since 0.1.0
 * @category constants
 */
export const variables: ReadonlyArray<string> = [
  "http_proxy",
  "HTTP_PROXY",
  "https_proxy",
  "HTTPS_PROXY",
  "all_proxy",
  "ALL_PROXY",
  "no_proxy",
  "NO_PROXY"
]

const byScheme: Readonly<Record<string, ReadonlyArray<string>>> = {
  "http:": ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"],
  "https:": ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
}

const isSet = (value: string | undefined): value is string => value !== undefined && value.trim() !== ""

const bareHost = (host: string): string => host.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "")

/** An entry of `NO_PROXY` as host and optional port: `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6. */
const entryOf = (entry: string): { readonly host: string; readonly port: string | undefined } => {
  const bracketed = /^\[([^\]]*)\](?::(\d+))?$/.exec(entry)
  if (bracketed !== null) return { host: bareHost(bracketed[1]), port: bracketed[2] }
  const colons = entry.split(":").length - 1
  if (colons === 1) {
    const [host, port] = entry.split(":")
    return { host: bareHost(host), port }
  }
  return { host: bareHost(entry), port: undefined }
}

/**
 * Whether `noProxy` (a `NO_PROXY` value) excludes `hostname` on `port` (the effective port, e.g. `"80"`). Entries are
 * separated by commas or white space: `*` excludes everything; `host` excludes exactly that host; `.domain` or
 * `*.domain` excludes the names under it; `:port` limits an entry to that port. The common reading, which Node, undici
 * and Bun all apply: CIDR ranges (`127.0.0.0/8`), which they do not understand, exclude nothing.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isExcluded = (hostname: string, port: string, noProxy: string): boolean => {
  const host = bareHost(hostname)
  for (const raw of noProxy.split(/[\s,]+/)) {
    if (raw === "") continue
    if (raw === "*") return true
    const entry = entryOf(raw)
    if (entry.host === "" || (entry.port !== undefined && entry.port !== port)) continue
    const suffix = entry.host.startsWith("*.")
      ? entry.host.slice(1)
      : entry.host.startsWith(".")
      ? entry.host
      : undefined
    if (suffix === undefined ? host === entry.host : host.endsWith(suffix) && host.length > suffix.length) return true
  }
  return false
}

/**
 * The variables, set in `environment`, that would send a request for `url` through a proxy: for an `http` URL
 * `http_proxy`, `HTTP_PROXY`, `all_proxy`, `ALL_PROXY`; for `https` the `https_` pair and the `all_` pair — none when
 * `no_proxy` (else `NO_PROXY`) excludes the URL's host and port, or when `url` is not an `http` or `https` URL.
 * Never throws.
 *
 * @since 0.1.0
 * @category constructors
 */
export const catching = (url: string, environment: Environment): ReadonlyArray<string> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return []
  }
  const names = (byScheme[parsed.protocol] ?? []).filter((name) => isSet(environment[name]))
  if (names.length === 0) return names
  const noProxy = isSet(environment.no_proxy) ? environment.no_proxy : environment.NO_PROXY ?? ""
  const port = parsed.port !== "" ? parsed.port : parsed.protocol === "https:" ? "443" : "80"
  return isExcluded(parsed.hostname, port, noProxy) ? [] : names
}

/**
 * A proxy variable's value as messages may show it: scheme and host only (a value without a scheme is read as `http`,
 * as curl does). A user name or password, path or query never appears.
 *
 * @since 0.1.0
 * @category formatting
 */
export const display = (value: string): string => {
  const trimmed = value.trim()
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`)
    return url.host === "" ? "(not a URL)" : `${url.protocol}//${url.host}`
  } catch {
    return "(not a URL)"
  }
}

/**
 * The variables that would catch an `http` request for `url` to a loopback or link-local host ({@link catching}): the
 * requests a proxy can never serve, which must go around it. None for any other URL.
 *
 * @since 0.1.0
 * @category constructors
 */
export const catchingLocal = (url: string, environment: Environment): ReadonlyArray<string> => {
  const names = catching(url, environment)
  return names.length > 0 && url.startsWith("http:") && Host.isLoopbackOrLinkLocal(new URL(url).hostname) ? names : []
}

/**
 * The finding about proxies for the detected source's endpoint `url` (as `Diagnosis.endpointOf` shows it): none when
 * no proxy variable would catch its requests ({@link catchingLocal}); `proxy.bypassed` when they go around the proxy
 * (`direct`: a transport that reads no proxy variable sends them); else `proxy.caught`, a warning. The message names
 * the variables and their proxies' scheme and host ({@link display}), never a user name or password.
 *
 * @since 0.1.0
 * @category constructors
 */
export const finding = (
  url: string,
  environment: Environment,
  direct: boolean
): Diagnosis.Finding | undefined => {
  const names = catchingLocal(url, environment)
  if (names.length === 0) return undefined
  const variables = names.map((name) => `${name} (${display(environment[name] ?? "")})`).join(", ")
  const caught = `${variables} would send requests to ${url} through a proxy, which cannot reach that host`
  // A plain value, not `Diagnosis.finding`: that would bring detection's source table into every app's bundle.
  return direct
    ? { level: "ok", code: "proxy.bypassed", message: `${caught}: they go directly, around it` }
    : {
      level: "warning",
      code: "proxy.caught",
      message: `${caught}, and the HTTP client in use may honour them: add the host to NO_PROXY, or provide a ` +
        "LocalHttpClient"
    }
}
