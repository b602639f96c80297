/** One HTTPS request with a form body to the emulator's STS (or token proxy), trusting only the CA given. */
import * as Effect from "effect/Effect"
import * as Https from "node:https"

/** What the server answered: its status and its JSON body. */
export interface Answer {
  readonly status: number
  readonly json: any
}

/** `POST`s (or sends with `method`) `body` as a form to `url`, trusting `ca`, with `servername` as SNI if given. */
export const postForm = (
  url: string,
  body: Record<string, string>,
  options: { readonly ca: string; readonly servername?: string; readonly method?: string } & {
    readonly headers?: Record<string, string>
  }
): Effect.Effect<Answer, Error> =>
  Effect.async<Answer, Error>((resume) => {
    const request = Https.request(url, {
      method: options.method ?? "POST",
      ca: options.ca,
      ...(options.servername === undefined ? {} : { servername: options.servername }),
      headers: { "content-type": "application/x-www-form-urlencoded", ...options.headers }
    }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => (text += chunk))
      response.on("end", () => resume(Effect.succeed({ status: response.statusCode ?? 0, json: JSON.parse(text) })))
    })
    request.on("error", (error) => resume(Effect.fail(error)))
    request.end(options.method === "GET" ? undefined : new URLSearchParams(body).toString())
  })
