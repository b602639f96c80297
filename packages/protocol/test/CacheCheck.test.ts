import { assert, describe, it } from "@effect/vitest"
import * as CacheCheck from "../src/CacheCheck.js"

const directory: CacheCheck.Description = { _tag: "Directory", directory: "/var/cache/app" }

describe("cache check", () => {
  it("names each kind of cache; a cache without a description is a custom one", () => {
    assert.strictEqual(CacheCheck.check(undefined, "linux").finding.code, "cache.custom")
    assert.strictEqual(CacheCheck.check({ _tag: "Memory" }, "linux").finding.code, "cache.memory")
    assert.strictEqual(CacheCheck.check({ _tag: "KeyValueStore" }, "linux").finding.code, "cache.key-value-store")
  })

  it("a file cache's modes are read except on Windows, which has none", () => {
    assert.isTrue(CacheCheck.needsModes(directory, "linux"))
    assert.isFalse(CacheCheck.needsModes(directory, "win32"))
    assert.isFalse(CacheCheck.needsModes({ _tag: "Memory" }, "linux"))
    const windows = CacheCheck.check(directory, "win32")
    assert.deepStrictEqual([windows.finding.level, windows.finding.code], ["ok", "cache.directory"])
  })

  it("private modes are ok; a directory or file group or others can open is an error naming them", () => {
    const files = [{ name: "a", mode: 0o100600 }, { name: "b", mode: 0o100644 }]
    const privateDirectory = CacheCheck.check(directory, "linux", {
      _tag: "Read",
      modes: { directory: 0o40700, files: [files[0]] }
    })
    assert.deepStrictEqual(privateDirectory.check.permissions, { directoryMode: "0700", files: 1, tooOpen: [] })
    assert.strictEqual(privateDirectory.finding.code, "cache.directory")
    const open = CacheCheck.check(directory, "linux", { _tag: "Read", modes: { directory: 0o40755, files } })
    assert.deepStrictEqual(open.check.permissions, {
      directoryMode: "0755",
      files: 2,
      tooOpen: [{ name: "b", mode: "0644" }]
    })
    assert.strictEqual(open.finding.level, "error")
    assert.strictEqual(
      open.finding.message,
      "file cache in /var/cache/app: the directory is 0755, open to group or others; 1 of 2 file(s) are open to group " +
        "or others (b 0644): tokens there can be read by other users"
    )
  })

  it("modes that could not be read are a warning saying what the platform said", () => {
    const unread = CacheCheck.check(directory, "linux", { _tag: "Unread", error: "EACCES: permission denied" })
    assert.deepStrictEqual(unread.finding, {
      level: "warning",
      code: "cache.unchecked",
      message: "file cache in /var/cache/app: not checked (EACCES: permission denied)"
    })
  })
})
