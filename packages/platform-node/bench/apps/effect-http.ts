// (a) An Effect app that already uses `effect` + `@effect/platform`: one `HttpClient.get` of a loopback URL.
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"

const program = Effect.gen(function*() {
  const response = yield* HttpClient.get(process.env.BENCH_HTTP_URL!)
  const body = yield* response.text
  return `${response.status} ${body.length}`
})

const line = await Effect.runPromise(program.pipe(Effect.provide(FetchHttpClient.layer)))
process.stdout.write(`${line}\n`)
