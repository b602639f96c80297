// (e) (c) plus a token from @azure/identity's `ManagedIdentityCredential`.
import { ManagedIdentityCredential } from "@azure/identity"
import process from "node:process"

const response = await fetch(process.env.BENCH_HTTP_URL)
const body = await response.text()
const token = await new ManagedIdentityCredential().getToken("https://vault.azure.net/.default")
process.stdout.write(`${response.status} ${body.length} ${token.token.length}\n`)
