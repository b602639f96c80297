/**
 * The conformance suite (`@managed-identity/conformance`) on the 3.x line's Node stack: the wire requests of every
 * source and single flight for 10 000 callers, against the emulator; the fault matrix's scenarios run in
 * `FaultMatrix.test.ts`, with the same cases and the same check. The Effect 4 line runs the whole suite from
 * `packages/effect4-node/test/Conformance.test.ts`.
 */
import * as Suite from "@managed-identity/conformance/Suite"
import { beforeAll, describe, expect, it } from "vitest"
import { line } from "./utils/conformanceLine.js"

Suite.register(line, { beforeAll, describe, expect, it }, { faultMatrix: false })
