// (d) (c) plus a token from msal-node's `ManagedIdentityApplication`.
import { ManagedIdentityApplication } from "@azure/msal-node"
import process from "node:process"

const response = await fetch(process.env.BENCH_HTTP_URL)
const body = await response.text()
const result = await new ManagedIdentityApplication().acquireToken({ resource: "https://vault.azure.net" })
process.stdout.write(`${response.status} ${body.length} ${result.accessToken.length}\n`)
