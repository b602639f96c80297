/**
 * The Azure Arc agent (Arc-enabled servers): a `401` Basic challenge names a key file the agent wrote into its tokens
 * directory, and the token request is repeated with that file's content as the credential. Detected by its variables,
 * else by the agent's `himds` binary.
 *
 * @since 0.1.0
 */
import * as Answer from "../Answer.js"
import * as AnswerText from "../AnswerText.js"
import * as Endpoint from "../Endpoint.js"
import * as FileRead from "../FileRead.js"
import * as Identity from "../Identity.js"
import * as Problem from "../Problem.js"
import * as Request from "../Request.js"
import * as Result from "../Result.js"
import * as Source from "../Source.js"
import { titles } from "../SourceKind.js"
import type * as TokenBody from "../TokenBody.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersion = "2020-06-01"

/**
 * The agent's endpoint when `IDENTITY_ENDPOINT` is not set (Arc detected by its `himds` binary).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultEndpoint = "http://localhost:40342/metadata/identity/oauth2/token"

/**
 * The agent binary on Linux.
 *
 * @since 0.1.0
 * @category constants
 */
export const linuxAgentPath = "/opt/azcmagent/bin/himds"

/**
 * Where the agent writes key files on Linux.
 *
 * @since 0.1.0
 * @category constants
 */
export const linuxKeyDirectory = "/var/opt/azcmagent/tokens"

/**
 * Larger key files are refused before they are read.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxKeyFileBytes = 4096

const trimSeparators = (path: string): string => path.replace(/[\\/]+$/, "")

/** The agent binary's path, or why it is not looked for. */
const agentPath = (platform: string, programFiles: string | undefined): { path: string } | { note: string } => {
  if (platform === "linux") return { path: linuxAgentPath }
  if (platform === "win32") {
    return programFiles === undefined
      ? { note: `ProgramFiles is not set, so the ${titles.AzureArc} agent was not looked for` }
      : { path: `${trimSeparators(programFiles)}\\AzureConnectedMachineAgent\\himds.exe` }
  }
  return { note: `the ${titles.AzureArc} agent is only looked for on Linux and Windows, not on ${platform}` }
}

const detect = (context: Source.DetectionContext): Source.Verdict => {
  if (context.isSet("IDENTITY_ENDPOINT", "IMDS_ENDPOINT")) {
    return { _tag: "Detected", reason: "IDENTITY_ENDPOINT and IMDS_ENDPOINT are set" }
  }
  const agent = agentPath(context.platform, context.lookup("ProgramFiles"))
  if ("note" in agent) return { _tag: "Passed", notes: [agent.note] }
  const check = context.fileCheck
  if (check === undefined || check.path !== agent.path) return { _tag: "CheckFile", path: agent.path }
  const file = { path: check.path, exists: check._tag === "Exists" && check.exists }
  const note = check._tag === "Unknown"
    ? `${check.path} could not be checked (${check.error})`
    : `${check.path} ${check.exists ? "exists" : "does not exist"}`
  return file.exists
    ? { _tag: "Detected", reason: `the agent ${file.path} is installed`, notes: [note], files: [file] }
    : { _tag: "Passed", notes: [note], files: [file] }
}

/**
 * @since 0.1.0
 * @category models
 */
export const facts: Source.Facts<"AzureArc"> = Source.make({
  kind: "AzureArc",
  variables: [{ name: "IDENTITY_ENDPOINT", role: "url" }, { name: "IMDS_ENDPOINT", role: "url" }],
  detectionVariables: ["IDENTITY_ENDPOINT", "IMDS_ENDPOINT"],
  detectionSettings: ["ProgramFiles"],
  detect,
  endpoint: (lookup) => lookup("IDENTITY_ENDPOINT") ?? defaultEndpoint,
  retry: "Default"
})

/**
 * The agent's tokens directory, and the separator of paths in it.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyDirectory {
  readonly path: string
  readonly separator: string
}

/**
 * The key directory: the one given, else `/var/opt/azcmagent/tokens` on Linux and
 * `%ProgramData%\AzureConnectedMachineAgent\Tokens` on Windows; other platforms, and Windows without `ProgramData`,
 * have none (an `AzureArcChallengeFailed` every request then fails with).
 *
 * @since 0.1.0
 * @category constructors
 */
export const keyDirectory = (options: {
  readonly keyDirectory?: string | undefined
  readonly platform?: string | undefined
  readonly programData?: string | undefined
}): Result.Result<KeyDirectory, Problem.AzureArcChallengeFailed> => {
  const separator = options.platform === "win32" ? "\\" : "/"
  if (options.keyDirectory !== undefined) return Result.ok({ path: trimSeparators(options.keyDirectory), separator })
  if (options.platform === "linux") return Result.ok({ path: linuxKeyDirectory, separator })
  if (options.platform === "win32") {
    return options.programData === undefined
      ? Result.err(
        Problem.azureArcChallengeFailed("ProgramData is not set, so the agent's tokens directory cannot be found")
      )
      : Result.ok({ path: `${trimSeparators(options.programData)}\\AzureConnectedMachineAgent\\Tokens`, separator })
  }
  return Result.err(Problem.azureArcChallengeFailed(
    `key files are only supported on Linux and Windows, not on ${options.platform ?? "an unknown platform"}`
  ))
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Checked {
  readonly url: string
  readonly keys: KeyDirectory
  readonly identity: Identity.Identity
}

/**
 * Checks the settings: an http endpoint on a loopback or link-local host (the key goes there), and a key directory.
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (
  endpoint: string,
  keys: Result.Result<KeyDirectory, Problem.AzureArcChallengeFailed>,
  identity: Identity.Identity
): Result.Result<Checked, Problem.InvalidIdentity | Problem.AzureArcChallengeFailed> =>
  Result.map(
    Result.all([Endpoint.secretEndpoint("AzureArc", "IDENTITY_ENDPOINT", endpoint, { pinned: false }), keys]),
    ([url, directory]) => ({ url: url.href, keys: directory, identity })
  )

/**
 * `GET <endpoint>?api-version=2020-06-01&resource=…&<selector>` with `Metadata: true`: without `key`, the challenge
 * request; with it, the same request with `Authorization: Basic <key>`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = (checked: Checked, tokenRequest: Request.TokenRequest, key?: string): Request.Request =>
  Request.get(checked.url, apiVersion, tokenRequest.resource, {
    query: Identity.selectorQuery(Identity.msiSelectors, checked.identity),
    headers: key === undefined ? { Metadata: "true" } : { Metadata: "true", Authorization: `Basic ${key}` }
  })

const realmOf = (answer: Answer.Answer): Result.Result<string, Problem.AzureArcChallengeFailed> => {
  const header = answer.headers["www-authenticate"]
  if (header === undefined) {
    return Result.err(Problem.azureArcChallengeFailed("the 401 answer has no WWW-Authenticate header"))
  }
  const parts = header.split("=")
  return parts.length === 2 && parts[0].toLowerCase() === "basic realm"
    ? Result.ok(parts[1].trim())
    : Result.err(Problem.azureArcChallengeFailed(`the WWW-Authenticate header is not "Basic realm=<path>"`))
}

/**
 * The path of the key file named by the answer (received at `now`) to the challenge request, which must be a `401`
 * with `WWW-Authenticate: Basic realm=<path>`: the realm's base name with its extension replaced by `.key`, inside the
 * key directory (the realm's directory is ignored). Any other answer is a `TokenRequestFailed`: an error status carries
 * the body's error; a success carries no body (it is not a challenge, and it may hold a token).
 *
 * @since 0.1.0
 * @category parsing
 */
export const keyPath = (
  checked: Checked,
  answer: Answer.Answer,
  now: number
): Result.Result<string, Problem.Problem> => {
  if (Answer.isSuccess(answer.status)) {
    return Result.err({
      _tag: "TokenRequestFailed",
      source: "AzureArc",
      status: answer.status,
      description: "expected a 401 Basic challenge to the request without a key, got a success"
    })
  }
  if (answer.status !== 401) return Result.err(Answer.failed("AzureArc", answer, now))
  return Result.flatMap(realmOf(answer), (realm) => {
    const base = realm.split(/[\\/]/).pop() ?? ""
    if (base === "" || base === "." || base === "..") {
      return Result.err(Problem.azureArcChallengeFailed("the challenge realm names no file"))
    }
    const dot = base.lastIndexOf(".")
    const stem = dot > 0 && !/^\.*$/.test(base.slice(0, dot)) ? base.slice(0, dot) : base
    return Result.ok(`${checked.keys.path}${checked.keys.separator}${stem}.key`)
  })
}

/**
 * A key file that could not be read.
 *
 * @since 0.1.0
 * @category constructors
 */
export const keyUnread = (path: string, failure: FileRead.Failure): Problem.AzureArcChallengeFailed =>
  Problem.azureArcChallengeFailed(`the key file ${path} ${FileRead.describe(failure, maxKeyFileBytes)}`)

/**
 * The key in the bytes of the key file at `path`: UTF-8 text of 1 to 4096 bytes that a header can carry (no CR, LF,
 * NUL or character beyond Latin-1); anything else is an `AzureArcChallengeFailed` naming the file, never its content.
 *
 * @since 0.1.0
 * @category parsing
 */
export const key = (path: string, bytes: Uint8Array): Result.Result<string, Problem.AzureArcChallengeFailed> => {
  let text: string
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes)
  } catch {
    return Result.err(Problem.azureArcChallengeFailed(`the key file ${path} is not UTF-8 text`))
  }
  if (text.length === 0) return Result.err(Problem.azureArcChallengeFailed(`the key file ${path} is empty`))
  return Endpoint.isHeaderSafe(text) ? Result.ok(text) : Result.err(
    Problem.azureArcChallengeFailed(
      `the key file ${path} holds a character a header cannot carry (CR, LF, NUL or beyond Latin-1)`
    )
  )
}

/**
 * For a user-assigned identity, the token body must echo it (`client_id`, `object_id`, or `msi_res_id` or
 * `mi_res_id`, compared case-insensitively), else `IdentityNotConfirmed`; the echo it sent is answer text
 * (`AnswerText.scrub`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const confirm = (
  identity: Identity.Identity,
  body: TokenBody.TokenBody,
  answer: Answer.Answer
): Result.Result<void, Problem.IdentityNotConfirmed> => {
  if (identity._tag === "SystemAssigned") return Result.ok(undefined)
  const echoed = identity._tag === "ClientId"
    ? [["client_id", body.client_id]]
    : identity._tag === "ObjectId"
    ? [["object_id", body.object_id]]
    : [["msi_res_id", body.msi_res_id], ["mi_res_id", body.mi_res_id]]
  const present = echoed.filter((entry): entry is [string, string] => entry[1] !== undefined)
  if (present.some(([, value]) => value.toLowerCase() === identity.id.toLowerCase())) return Result.ok(undefined)
  return Result.err({
    _tag: "IdentityNotConfirmed",
    source: "AzureArc",
    expected: `${Identity.msiSelectors[identity._tag]}=${identity.id}`,
    ...(present.length === 0 ? {} : { received: `${present[0][0]}=${AnswerText.scrub(answer.secrets, present[0][1])}` })
  })
}
