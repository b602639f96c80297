import * as Option from "effect/Option"
import { createHash, randomBytes } from "node:crypto"
import type { AppRegistration, Identity, SourceKind } from "./model.js"
import * as EmulatorSigning from "./signing.js"

/** @internal */
export type Selector =
  | { readonly _tag: "SystemAssigned" }
  | { readonly _tag: "ClientId" | "ObjectId" | "ResourceId"; readonly value: string }

/** @internal */
export const tenantId = "e1e1e1e1-0000-4000-8000-000000000000"

const subscription = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator/providers"

const fixedIdentity = (n: number, resource: string): Identity => ({
  clientId: `5a5a000${n}-0000-4000-8000-00000000000${n}`,
  objectId: `0b0b000${n}-0000-4000-8000-00000000000${n}`,
  resourceId: `${subscription}/${resource}`
})

const derivedId = (seed: string): string => {
  const hex = createHash("sha256").update(seed.toLowerCase()).digest("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/**
 * The application that trusts every managed identity of the emulator unless `Options.appRegistrations` names others:
 * its client id, and its tenant (not the managed identities' own).
 *
 * @internal
 */
export const defaultAppRegistration: AppRegistration = {
  clientId: "5a5a0008-0000-4000-8000-000000000008",
  tenantId: "f2f2f2f2-0000-4000-8000-000000000000"
}

/**
 * An application as the identity its tokens name (an application has no managed identity resource id).
 *
 * @internal
 */
export const applicationIdentity = (app: AppRegistration): Identity => ({
  clientId: app.clientId,
  objectId: derivedId(`object:${app.clientId}`),
  resourceId: ""
})

/** @internal */
export const systemAssigned: Readonly<Record<SourceKind, Identity>> = {
  Imds: fixedIdentity(1, "Microsoft.Compute/virtualMachines/emulator-vm"),
  AppService: fixedIdentity(2, "Microsoft.Web/sites/emulator-app"),
  ServiceFabric: fixedIdentity(3, "Microsoft.ServiceFabric/managedClusters/emulator-cluster"),
  AzureArc: fixedIdentity(4, "Microsoft.HybridCompute/machines/emulator-machine"),
  CloudShell: fixedIdentity(5, "Microsoft.Portal/consoles/emulator-console"),
  MachineLearning: fixedIdentity(6, "Microsoft.MachineLearningServices/workspaces/emulator/computes/emulator-compute"),
  WorkloadIdentity: fixedIdentity(7, "Microsoft.ManagedIdentity/userAssignedIdentities/emulator-workload"),
  FederatedCredential: applicationIdentity(defaultAppRegistration)
}

/**
 * The identity a token fault names instead of the one asked for: a user-assigned identity, as the one a VM with
 * exactly one user-assigned identity answers a system-assigned IMDS request with.
 *
 * @internal
 */
export const otherIdentity: Identity = {
  clientId: "5a5a0009-0000-4000-8000-000000000009",
  objectId: "0b0b0009-0000-4000-8000-000000000009",
  resourceId: `${subscription}/Microsoft.ManagedIdentity/userAssignedIdentities/emulator-other-identity`
}

const userAssignedResourceId = (name: string): string =>
  `${subscription}/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`

const sameId = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase()

/**
 * Resolves the identity a request selects. With `known` identities, an id that is not listed resolves to
 * nothing; without, any id is accepted: the id given is kept verbatim and the other two are derived from it,
 * stably.
 *
 * @internal
 */
export const resolve = (
  kind: SourceKind,
  selector: Selector,
  known: Option.Option<ReadonlyArray<Identity>>
): Option.Option<Identity> => {
  if (selector._tag === "SystemAssigned") {
    return Option.some(systemAssigned[kind])
  }
  const field = selector._tag === "ClientId" ? "clientId" : selector._tag === "ObjectId" ? "objectId" : "resourceId"
  if (Option.isSome(known)) {
    return Option.fromNullable(known.value.find((identity) => sameId(identity[field], selector.value)))
  }
  const value = selector.value
  switch (selector._tag) {
    case "ClientId":
      return Option.some({
        clientId: value,
        objectId: derivedId(`object:${value}`),
        resourceId: userAssignedResourceId(`client-${value}`)
      })
    case "ObjectId":
      return Option.some({
        clientId: derivedId(`client:${value}`),
        objectId: value,
        resourceId: userAssignedResourceId(`object-${value}`)
      })
    case "ResourceId":
      return Option.some({
        clientId: derivedId(`client:${value}`),
        objectId: derivedId(`object:${value}`),
        resourceId: value
      })
  }
}

/**
 * The issuer of every access token the emulator mints (Entra's v1 issuer for its tenant).
 *
 * @internal
 */
export const issuer = `https://sts.windows.net/${tenantId}/`

/**
 * Where a service finds the issuer and keys of the emulator's tokens, on the STS at `authorityHost`.
 *
 * @internal
 */
export const openId = (authorityHost: string, key: EmulatorSigning.SigningKey): EmulatorSigning.OpenId => ({
  issuer,
  configurationUrl: `${authorityHost}/${tenantId}/.well-known/openid-configuration`,
  jwksUri: `${authorityHost}/${tenantId}/discovery/keys`,
  jwks: { keys: [key.publicJwk] }
})

/**
 * The one function that mints the emulator's access tokens: an RS256 JWT signed with the emulator's key (`kid` in the
 * header), with the claims Entra puts in a managed identity's v1 token, naming the identity, the resource and the
 * source (`xms_src`, the emulator's own); `uti` is random, so no two tokens are equal.
 *
 * @internal
 */
export const mintToken = (key: EmulatorSigning.SigningKey, options: {
  readonly kind: SourceKind
  readonly identity: Identity
  readonly resource: string
  readonly issuedAt: number
  readonly lifetime: number
}): string =>
  EmulatorSigning.signJwt(key, {
    aud: options.resource,
    iss: issuer,
    iat: options.issuedAt,
    nbf: options.issuedAt,
    exp: options.issuedAt + options.lifetime,
    appid: options.identity.clientId,
    appidacr: "2",
    idp: issuer,
    idtyp: "app",
    oid: options.identity.objectId,
    sub: options.identity.objectId,
    tid: tenantId,
    uti: randomBytes(16).toString("base64url"),
    ver: "1.0",
    ...(options.identity.resourceId === "" ? {} : { xms_mirid: options.identity.resourceId }),
    xms_src: options.kind
  })

/**
 * A projected service-account token as kubelet writes it for workload identity: an unsigned JWT (`alg: none`: the
 * STS checks it against the token file, so it needs no signature, and the emulator publishes no cluster keys) for the
 * audience `api://AzureADTokenExchange`, issued by the cluster's OIDC issuer, valid for an hour; `jti` is random, so
 * each rotation writes a different token.
 *
 * @internal
 */
export const mintFederatedToken = (issuedAt: number): string =>
  `${EmulatorSigning.base64url({ alg: "none", typ: "JWT" })}.${
    EmulatorSigning.base64url({
      aud: ["api://AzureADTokenExchange"],
      iss: `https://oidc.emulator.invalid/${tenantId}/`,
      sub: "system:serviceaccount:default:workload-identity-sa",
      iat: issuedAt,
      nbf: issuedAt,
      exp: issuedAt + 3600,
      jti: randomBytes(16).toString("base64url"),
      "kubernetes.io": { namespace: "default", serviceaccount: { name: "workload-identity-sa" } }
    })
  }.`
