#!/usr/bin/env node
// The `managed-identity` command inside this workspace: runs the TypeScript entry through tsx, so it works in a
// fresh clone before `pnpm build` and always runs the code as it is now, never a stale bundle. Not published: the
// package's bin there is the bundle, `dist/bin/managed-identity.mjs` (`publishConfig.bin`), which needs no tsx.
import { register } from "tsx/esm/api"

register()
await import("../src/bin/managed-identity.ts")
