/**
 * The conformance suite (`@managed-identity/conformance`) on the Effect 4 line's Node stack: the wire requests of
 * every source, the fault matrix's scenarios and single flight for 10 000 callers, against the emulator (an Effect 3
 * program, started and steered by the suite). The 3.x line runs the same suite from
 * `packages/platform-node/test/Conformance.test.ts`.
 */
import * as Suite from "@managed-identity/conformance/Suite"
import { beforeAll, describe, expect, it } from "vitest"
import { line } from "./utils/conformanceLine.js"

Suite.register(line, { beforeAll, describe, expect, it })
