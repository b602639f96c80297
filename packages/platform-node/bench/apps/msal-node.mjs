import { ManagedIdentityApplication } from "@azure/msal-node"
import process from "node:process"

const result = await new ManagedIdentityApplication().acquireToken({ resource: "https://vault.azure.net" })
process.stdout.write(`${result.accessToken.length}\n`)
