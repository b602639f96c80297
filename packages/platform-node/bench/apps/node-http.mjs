// (c) A plain Node app: one `fetch` of a loopback URL.
import process from "node:process"

const response = await fetch(process.env.BENCH_HTTP_URL)
const body = await response.text()
process.stdout.write(`${response.status} ${body.length}\n`)
