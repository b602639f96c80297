/**
 * The TLS material of the emulator's workload identity servers: a CA of its own for the STS (a leaf certificate for
 * `127.0.0.1` and `localhost`), and another CA for the identity-binding token proxy (a leaf certificate for the
 * proxy's TLS server name only, so it is reached by SNI).
 *
 * ECDSA P-256, valid for 100 years, generated once with the `openssl` CLI and embedded. The private keys are
 * deliberately public: they only ever protect loopback test servers, and a client trusts them only when told to
 * (`NODE_EXTRA_CA_CERTS` for the STS, `AZURE_KUBERNETES_CA_FILE` for the proxy). Never trust these CAs anywhere
 * else.
 */

/** @internal */
export const stsCaCertificate = `-----BEGIN CERTIFICATE-----
MIIBvDCCAWOgAwIBAgIUYu6h8VFJ78HZTjsNky/c+j0Vv/4wCgYIKoZIzj0EAwIw
KzEpMCcGA1UEAwwgbWFuYWdlZC1pZGVudGl0eSBlbXVsYXRvciBTVFMgQ0EwIBcN
MjYxMTI5MTYzOTUzWhgPMjEyNjExMDUxNjM5NTNaMCsxKTAnBgNVBAMMIG1hbmFn
ZWQtaWRlbnRpdHkgZW11bGF0b3IgU1RTIENBMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAERaP7S8O5u9dN1U4cGXFEiU0PEO5DrpsZZP3KKoSDo9AEklbYUxcgTSgs
zXQOqUNQyHB0n1duGGyQFaEONEHB7qNjMGEwHQYDVR0OBBYEFMo4aNWgMls95fE4
lnM6HayR9pCqMB8GA1UdIwQYMBaAFMo4aNWgMls95fE4lnM6HayR9pCqMA8GA1Ud
EwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoGCCqGSM49BAMCA0cAMEQCIETV
bNu+iBV1D9ZBQTNO66y4EjAAWeGbHtz+3FcfGEGJAiAxoTuLiNpLXCp/e6zbl77H
RLv7Wgc81mx1PgMzW6Bg+A==
-----END CERTIFICATE-----
`

/** @internal */
export const stsCertificate = `-----BEGIN CERTIFICATE-----
MIIB1jCCAXygAwIBAgIUaILE9DsF8iX4N2Mc2hpcsvTVqQAwCgYIKoZIzj0EAwIw
KzEpMCcGA1UEAwwgbWFuYWdlZC1pZGVudGl0eSBlbXVsYXRvciBTVFMgQ0EwIBcN
MjYxMTI5MTYzOTUzWhgPMjEyNjExMDUxNjM5NTNaMBQxEjAQBgNVBAMMCTEyNy4w
LjAuMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABDOwaKSUOwcbMcorxyD4xmiR
WtswV/1u3FLEuYH7/TYBLQyhFY7JHmrcscxbXxpIUhNY35Ghu+rY/XMzoYwfHQej
gZIwgY8wDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYI
KwYBBQUHAwEwGgYDVR0RBBMwEYcEfwAAAYIJbG9jYWxob3N0MB0GA1UdDgQWBBQW
CT6yQOMn9QvMANIFqYzUdAXxbjAfBgNVHSMEGDAWgBTKOGjVoDJbPeXxOJZzOh2s
kfaQqjAKBggqhkjOPQQDAgNIADBFAiB8OUvKKaYqQDzuxNwo0oAOSwS9sWOYKt7C
6D6FwcUxnAIhANWJo8yj/AtcRF5VvX2kb5cG2A7eIMR0qo/Y/TRYLjpa
-----END CERTIFICATE-----
`

/** @internal */
export const stsPrivateKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgX+1BxGDAZO4Ds/Es
dcvBHTUFswF/vLBSZJy4JX5J4ImhRANCAAQzsGiklDsHGzHKK8cg+MZokVrbMFf9
btxSxLmB+/02AS0MoRWOyR5q3LHMW18aSFITWN+Robvq2P1zM6GMHx0H
-----END PRIVATE KEY-----
`

/**
 * The TLS server name of the token proxy, the only name its certificate is valid for.
 *
 * @internal
 */
export const proxyServerName = "identity-binding.emulator.invalid"

/** @internal */
export const proxyCaCertificate = `-----BEGIN CERTIFICATE-----
MIIB1zCCAX2gAwIBAgIUUGEzlFqvXcQldhzsMQ6BZ91ert4wCgYIKoZIzj0EAwIw
ODE2MDQGA1UEAwwtbWFuYWdlZC1pZGVudGl0eSBlbXVsYXRvciBpZGVudGl0eS1i
aW5kaW5nIENBMCAXDTI2MTEyOTE2Mzk1M1oYDzIxMjYxMTA1MTYzOTUzWjA4MTYw
NAYDVQQDDC1tYW5hZ2VkLWlkZW50aXR5IGVtdWxhdG9yIGlkZW50aXR5LWJpbmRp
bmcgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARGC58zqnvsoRqI76IH3Fhb
1f4Dh68SnLE4uaBKspDf1kZ4XFLS8POHWjbpV+GkBK1OViEf+E8am3f98ZX5MSKp
o2MwYTAdBgNVHQ4EFgQUHzjGa/nA2E+irAgbvKb/8VSeUWgwHwYDVR0jBBgwFoAU
HzjGa/nA2E+irAgbvKb/8VSeUWgwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8E
BAMCAQYwCgYIKoZIzj0EAwIDSAAwRQIhAPB7DCTfXXc5BkYIb1P8x2pmFBJeTJJr
ITO4im3vrZ0mAiA+FqJoXbbPulO2EuPv2+Zby9pWBW7eO6TqhMX+lmnnrQ==
-----END CERTIFICATE-----
`

/** @internal */
export const proxyCertificate = `-----BEGIN CERTIFICATE-----
MIICDDCCAbOgAwIBAgIUWdNTFQ5aqUhcccnNnNwGLvsjnRMwCgYIKoZIzj0EAwIw
ODE2MDQGA1UEAwwtbWFuYWdlZC1pZGVudGl0eSBlbXVsYXRvciBpZGVudGl0eS1i
aW5kaW5nIENBMCAXDTI2MTEyOTE2Mzk1M1oYDzIxMjYxMTA1MTYzOTUzWjAsMSow
KAYDVQQDDCFpZGVudGl0eS1iaW5kaW5nLmVtdWxhdG9yLmludmFsaWQwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAAQyGfb88N8BJs69QM00Xu+eCIpkSP8qw0a9+XI9
ACRoFFhEf3xYSwCPmhj5lHpSsvoC/exblH69dS2aPp6IxKdro4GkMIGhMAwGA1Ud
EwEB/wQCMAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMCwG
A1UdEQQlMCOCIWlkZW50aXR5LWJpbmRpbmcuZW11bGF0b3IuaW52YWxpZDAdBgNV
HQ4EFgQU6YmNYcyn7a03eC9MA2FAkadI1w8wHwYDVR0jBBgwFoAUHzjGa/nA2E+i
rAgbvKb/8VSeUWgwCgYIKoZIzj0EAwIDRwAwRAIgWugoWGOw5SjIFhMvtOl0Eknu
7p9CS5Z6FYPVuneELgkCIFEpQ023rI18qB2xeKgROCLVK0AGYWQAXh/xVrV6QHbk
-----END CERTIFICATE-----
`

/** @internal */
export const proxyPrivateKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgIQRmiaT1x5dZvF99
YASC60i8CqL7Kj+EHazU2R4ASMShRANCAAQyGfb88N8BJs69QM00Xu+eCIpkSP8q
w0a9+XI9ACRoFFhEf3xYSwCPmhj5lHpSsvoC/exblH69dS2aPp6IxKdr
-----END PRIVATE KEY-----
`
