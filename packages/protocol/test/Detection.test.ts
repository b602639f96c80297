import { assert, describe, it } from "@effect/vitest"
import * as Detection from "../src/Detection.js"
import type { DetectedKind } from "../src/SourceKind.js"

const linuxAgent = "/opt/azcmagent/bin/himds"

/** Detection over `variables` on Linux, the agent file present or not; returns what was detected and the files asked. */
const detect = (
  variables: Record<string, string>,
  options: { readonly agentInstalled?: boolean; readonly clientIdConfigured?: boolean } = {}
) => {
  const input: Detection.Input = {
    lookup: (name) => variables[name],
    clientIdConfigured: options.clientIdConfigured ?? false,
    platform: "linux"
  }
  const first = Detection.detect(input)
  const asked = first._tag === "CheckFile" ? [first.path] : []
  const step = first._tag === "CheckFile"
    ? Detection.detect({
      ...input,
      fileCheck: { _tag: "Exists", path: first.path, exists: options.agentInstalled === true }
    })
    : first
  assert(step._tag === "Detected")
  return { detection: step.detection, asked }
}

const all = {
  IDENTITY_ENDPOINT: "https://127.0.0.1:2377/token",
  IDENTITY_HEADER: "header-secret",
  IDENTITY_SERVER_THUMBPRINT: "ab".repeat(20),
  MSI_ENDPOINT: "http://127.0.0.1:46808/MSI/auth",
  MSI_SECRET: "msi-secret",
  IMDS_ENDPOINT: "http://localhost:40342"
}

const pick = (...names: ReadonlyArray<keyof typeof all>) =>
  Object.fromEntries(names.map((name) => [name, all[name]])) as Record<string, string>

const workload = {
  AZURE_FEDERATED_TOKEN_FILE: "/var/run/secrets/azure/tokens/azure-identity-token",
  AZURE_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
  AZURE_CLIENT_ID: "11111111-2222-3333-4444-555555555555"
}

describe("detection", () => {
  const rows: ReadonlyArray<{
    readonly name: string
    readonly variables: Record<string, string>
    readonly kind: DetectedKind
    readonly reason: string
  }> = [
    {
      name: "Service Fabric",
      variables: pick("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT"),
      kind: "ServiceFabric",
      reason: "Service Fabric: IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT are set"
    },
    {
      name: "App Service",
      variables: pick("IDENTITY_ENDPOINT", "IDENTITY_HEADER"),
      kind: "AppService",
      reason: "App Service: IDENTITY_ENDPOINT and IDENTITY_HEADER are set"
    },
    {
      name: "Azure Machine Learning",
      variables: pick("MSI_ENDPOINT", "MSI_SECRET"),
      kind: "MachineLearning",
      reason: "Azure Machine Learning: MSI_ENDPOINT and MSI_SECRET are set"
    },
    {
      name: "Cloud Shell",
      variables: pick("MSI_ENDPOINT"),
      kind: "CloudShell",
      reason: "Cloud Shell: MSI_ENDPOINT is set without MSI_SECRET"
    },
    {
      name: "Azure Arc by variables",
      variables: pick("IDENTITY_ENDPOINT", "IMDS_ENDPOINT"),
      kind: "AzureArc",
      reason: "Azure Arc: IDENTITY_ENDPOINT and IMDS_ENDPOINT are set"
    }
  ]
  for (const { kind, name, reason, variables } of rows) {
    it(`${name} is decided by variables alone`, () => {
      const { asked, detection } = detect(variables, { agentInstalled: true })
      assert.deepStrictEqual(detection, {
        kind,
        reasons: [reason, `variables seen: ${Object.keys(variables).join(", ")}`],
        variablesSeen: Object.keys(variables),
        filesChecked: []
      })
      assert.deepStrictEqual(asked, [])
    })
  }

  const precedence: ReadonlyArray<{ readonly variables: Record<string, string>; readonly kind: DetectedKind }> = [
    { variables: all, kind: "ServiceFabric" },
    {
      variables: pick("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"),
      kind: "AppService"
    },
    { variables: pick("IDENTITY_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"), kind: "MachineLearning" },
    { variables: pick("IDENTITY_ENDPOINT", "MSI_ENDPOINT", "IMDS_ENDPOINT"), kind: "CloudShell" },
    { variables: pick("IDENTITY_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT"), kind: "AzureArc" }
  ]
  for (const { kind, variables } of precedence) {
    it(`${Object.keys(variables).join(" + ")} → ${kind}`, () => {
      assert.strictEqual(detect(variables).detection.kind, kind)
    })
  }

  it("AKS workload identity comes first: token file, tenant and AZURE_CLIENT_ID", () => {
    const { asked, detection } = detect({ ...all, ...workload }, { agentInstalled: true })
    assert.deepStrictEqual(detection, {
      kind: "WorkloadIdentity",
      reasons: [
        "AKS workload identity: AZURE_FEDERATED_TOKEN_FILE and AZURE_TENANT_ID are set, the client id is AZURE_CLIENT_ID",
        `variables seen: ${[...Object.keys(workload), ...Object.keys(all)].join(", ")}`
      ],
      variablesSeen: [...Object.keys(workload), ...Object.keys(all)],
      filesChecked: []
    })
    assert.deepStrictEqual(asked, [])
  })

  it("a ClientId identity stands in for AZURE_CLIENT_ID", () => {
    const { AZURE_CLIENT_ID: _, ...withoutClientId } = workload
    const withIdentity = detect(withoutClientId, { clientIdConfigured: true })
    assert.strictEqual(withIdentity.detection.kind, "WorkloadIdentity")
    assert.strictEqual(
      withIdentity.detection.reasons[0],
      "AKS workload identity: AZURE_FEDERATED_TOKEN_FILE and AZURE_TENANT_ID are set, the client id is the configured ClientId identity"
    )
    assert.strictEqual(detect(withoutClientId).detection.kind, "Imds")
  })

  const partial: ReadonlyArray<readonly [Record<string, string>, string]> = [
    [
      { AZURE_FEDERATED_TOKEN_FILE: workload.AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID: workload.AZURE_TENANT_ID },
      "a client id (a ClientId identity or AZURE_CLIENT_ID)"
    ],
    [
      { AZURE_FEDERATED_TOKEN_FILE: workload.AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID: workload.AZURE_CLIENT_ID },
      "AZURE_TENANT_ID"
    ],
    [{ AZURE_TENANT_ID: workload.AZURE_TENANT_ID }, "AZURE_FEDERATED_TOKEN_FILE and a client id"]
  ]
  for (const [variables, missing] of partial) {
    it(`workload identity without ${missing}: says which is missing and moves on`, () => {
      const { detection } = detect({ ...variables, ...pick("MSI_ENDPOINT") })
      assert.strictEqual(detection.kind, "CloudShell")
      assert.strictEqual(detection.reasons.length, 3)
      assert.isTrue(detection.reasons[2].startsWith(`AKS workload identity skipped: ${missing}`), detection.reasons[2])
      assert.isTrue(detection.reasons[2].endsWith(" missing"), detection.reasons[2])
    })
  }

  it("AZURE_CLIENT_ID alone is no sign of workload identity: no note", () => {
    const { detection } = detect({ AZURE_CLIENT_ID: workload.AZURE_CLIENT_ID })
    assert.strictEqual(detection.kind, "Imds")
    assert.isFalse(detection.reasons.some((reason) => reason.includes("workload")))
  })

  it("empty or blank variables count as unset", () => {
    const appService = detect({ ...pick("IDENTITY_ENDPOINT", "IDENTITY_HEADER"), IDENTITY_SERVER_THUMBPRINT: "" })
    assert.strictEqual(appService.detection.kind, "AppService")
    assert.deepStrictEqual(appService.detection.variablesSeen, ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"])
    assert.strictEqual(detect({ MSI_ENDPOINT: all.MSI_ENDPOINT, MSI_SECRET: " " }).detection.kind, "CloudShell")
  })

  it("the agent binary is asked for only when no variable decides, and decides Azure Arc when it exists", () => {
    const arc = detect(pick("IDENTITY_ENDPOINT"), { agentInstalled: true })
    assert.deepStrictEqual(arc.asked, [linuxAgent])
    assert.deepStrictEqual(arc.detection.reasons, [
      "Azure Arc: the agent /opt/azcmagent/bin/himds is installed",
      "variables seen: IDENTITY_ENDPOINT",
      "/opt/azcmagent/bin/himds exists"
    ])
    assert.deepStrictEqual(detect({}).detection.filesChecked, [{ path: linuxAgent, exists: false }])
  })
})
