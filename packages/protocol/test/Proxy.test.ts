import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Host from "../src/Host.js"
import * as Proxy from "../src/Proxy.js"

describe("Host", () => {
  it("tells loopback and link-local hosts, as URL.hostname gives them", () => {
    const loopback = [
      "localhost",
      "LOCALHOST",
      "localhost.",
      "127.0.0.1",
      "127.255.0.9",
      "[::1]",
      "::1",
      "[::ffff:7f00:1]"
    ]
    const linkLocal = ["169.254.169.254", "169.254.0.1", "[fe80::1]", "febf::1", "[::ffff:a9fe:a9fe]"]
    const neither = [
      "",
      "example.com",
      "128.0.0.1",
      "169.255.0.1",
      "[::2]",
      "[fec0::1]",
      "foo.localhost",
      "127.0.0.256",
      "127.0.0.01",
      "1::2::3",
      "localhost.example.com"
    ]
    for (const host of loopback) assert.isTrue(Host.isLoopback(host), host)
    for (const host of linkLocal) assert.isTrue(Host.isLinkLocal(host) && !Host.isLoopback(host), host)
    for (const host of neither) assert.isFalse(Host.isLoopbackOrLinkLocal(host), host)
    assert.isTrue(Host.isLinkLocalIpv4("169.254.169.254"))
    assert.isFalse(Host.isLinkLocalIpv4("[fe80::1]"))
  })
})

describe("Proxy.catching", () => {
  const env = { HTTP_PROXY: "http://user:pw@proxy.corp:3128", https_proxy: "http://proxy.corp:3129" }

  it("names the set variables of the URL's scheme, lower case first", () => {
    assert.deepStrictEqual(Proxy.catching("http://169.254.169.254/metadata/identity/oauth2/token", env), ["HTTP_PROXY"])
    assert.deepStrictEqual(Proxy.catching("https://login.microsoftonline.com/x", env), ["https_proxy"])
    assert.deepStrictEqual(
      Proxy.catching("http://127.0.0.1:8080/x", { http_proxy: "a:1", HTTP_PROXY: "b:1", ALL_PROXY: "c:1" }),
      ["http_proxy", "HTTP_PROXY", "ALL_PROXY"]
    )
    assert.deepStrictEqual(Proxy.catching("http://127.0.0.1/", { HTTP_PROXY: " ", HTTPS_PROXY: "x:1" }), [])
    assert.deepStrictEqual(Proxy.catching("ftp://127.0.0.1/", { all_proxy: "x:1" }), [])
    assert.deepStrictEqual(Proxy.catching("not a url", env), [])
  })

  it("honours NO_PROXY as Node, undici and Bun read it", () => {
    const caught = (url: string, noProxy: string, name = "NO_PROXY") =>
      Proxy.catching(url, { HTTP_PROXY: "http://proxy:3128", [name]: noProxy }).length > 0
    assert.isFalse(caught("http://127.0.0.1:80/", "localhost, 127.0.0.1"))
    assert.isFalse(caught("http://127.0.0.1/", "127.0.0.1:80"))
    assert.isTrue(caught("http://127.0.0.1:8080/", "127.0.0.1:80"))
    assert.isFalse(caught("http://[::1]:42/", "[::1]"))
    assert.isFalse(caught("http://[::1]:42/", "::1"))
    assert.isFalse(caught("http://169.254.169.254/", "*"))
    assert.isFalse(caught("http://imds.internal.example/", ".example"))
    assert.isFalse(caught("http://imds.internal.example/", "*.internal.example"))
    assert.isTrue(caught("http://example/", ".example"))
    assert.isTrue(caught("http://127.0.0.1/", "127.0.0.0/8"), "CIDR is not understood by Node, undici or Bun")
    assert.isTrue(caught("http://127.0.0.2/", "127.0.0.1"))
    assert.isFalse(caught("http://localhost/", "LOCALHOST", "no_proxy"))
    assert.isTrue(
      Proxy.catching("http://localhost/", { HTTP_PROXY: "p:1", no_proxy: "other", NO_PROXY: "localhost" }).length > 0,
      "no_proxy wins over NO_PROXY when both are set"
    )
  })

  it("shows a proxy value without its user info, path or query", () => {
    assert.strictEqual(Proxy.display("http://user:secret@proxy.corp:3128/path?q=1"), "http://proxy.corp:3128")
    assert.strictEqual(Proxy.display("user:secret@proxy.corp:3128"), "http://proxy.corp:3128")
    assert.strictEqual(Proxy.display("socks5://proxy"), "socks5://proxy")
    assert.strictEqual(Proxy.display("http://"), "(not a URL)")
  })

  it("the diagnosis finding: bypassed, caught without a direct transport, or none", () => {
    const env = { HTTP_PROXY: "http://u:secret@proxy.corp:3128", ALL_PROXY: "proxy.corp:1080" }
    const url = "http://169.254.169.254/metadata/identity/oauth2/token"
    const caught = "HTTP_PROXY (http://proxy.corp:3128), ALL_PROXY (http://proxy.corp:1080) would send requests to " +
      `${url} through a proxy, which cannot reach that host`
    assert.deepStrictEqual(Proxy.finding(url, env, true), {
      level: "ok",
      code: "proxy.bypassed",
      message: `${caught}: they go directly, around it`
    })
    assert.deepStrictEqual(Proxy.finding(url, env, false), {
      level: "warning",
      code: "proxy.caught",
      message: `${caught}, and the HTTP client in use may honour them: add the host to NO_PROXY, or provide a ` +
        "LocalHttpClient"
    })
    assert.isUndefined(Proxy.finding(url, { ...env, NO_PROXY: "169.254.169.254" }, false))
    assert.isUndefined(Proxy.finding("https://127.0.0.1:8443/x", { HTTPS_PROXY: "p:1" }, true), "https is not taken")
    assert.isUndefined(Proxy.finding("http://login.example/x", env, true), "a remote host may use the proxy")
    assert.isUndefined(Proxy.finding("(not set, or not valid)", env, true))
  })

  it.prop(
    "any host and any NO_PROXY: no exception, and only proxy variables of the right scheme are named",
    {
      host: fc.oneof(fc.string(), fc.ipV4(), fc.ipV6().map((v6) => `[${v6}]`), fc.domain()),
      noProxy: fc.oneof(
        fc.string(),
        fc.array(fc.oneof(fc.string(), fc.domain(), fc.ipV4()), { maxLength: 4 }).map((l) => l.join(","))
      ),
      scheme: fc.constantFrom("http", "https", "ftp")
    },
    ({ host, noProxy, scheme }) => {
      const url = `${scheme}://${host}/`
      const names = Proxy.catching(url, { HTTP_PROXY: "p:1", HTTPS_PROXY: "p:2", all_proxy: "p:3", NO_PROXY: noProxy })
      assert.isTrue(Array.isArray(names))
      for (const name of names) {
        assert.include(scheme === "http" ? ["HTTP_PROXY", "all_proxy"] : ["HTTPS_PROXY", "all_proxy"], name)
      }
      assert.deepStrictEqual(Proxy.catching(url, { NO_PROXY: noProxy }), [])
      assert.isBoolean(Host.isLoopbackOrLinkLocal(host))
      assert.isBoolean(Proxy.isExcluded(host, "80", noProxy))
      const local = Proxy.catchingLocal(url, { HTTP_PROXY: "p:1", NO_PROXY: noProxy })
      if (local.length > 0) assert.isTrue(scheme === "http" && Host.isLoopbackOrLinkLocal(new URL(url).hostname))
    }
  )

  it.prop(
    "a displayed proxy value never shows the password it holds",
    {
      user: fc.stringMatching(/^[a-z]{1,8}$/),
      password: fc.stringMatching(/^PW[A-Za-z0-9]{6,12}$/),
      host: fc.domain()
    },
    ({ host, password, user }) => {
      for (const value of [`http://${user}:${password}@${host}:3128`, `${user}:${password}@${host}`]) {
        assert.notInclude(Proxy.display(value), password)
      }
    }
  )
})
