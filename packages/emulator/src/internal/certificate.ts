/**
 * The self-signed TLS certificate the emulator's Service Fabric endpoint serves by default.
 *
 * RSA 2048, CN=127.0.0.1, subjectAltName IP:127.0.0.1, valid for 100 years, generated with the `openssl` CLI.
 * The private key is deliberately public: it only ever protects a loopback test server, and clients trust it
 * through the thumbprint pin (`IDENTITY_SERVER_THUMBPRINT`), never through a certificate authority.
 * Never use it for anything else.
 */
import * as Effect from "effect/Effect"
import { createHash, X509Certificate } from "node:crypto"
import { type EmulatorError, failWith } from "./model.js"

const certificate = `-----BEGIN CERTIFICATE-----
MIIDHDCCAgSgAwIBAgIUQrksAR2DC9M63ne27JNeQxt04ncwDQYJKoZIhvcNAQEL
BQAwFDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyMTIzMjEwN1oYDzIxMjYx
MDI4MjMyMTA3WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQDB1UW//2WfAMnzkbOIjZW3HI68+6hHMLr2k7csa+Di
ldzgDV6jRCa8+NtDyCRIBSBpryRy1uyH50ykGegXa96+PsW6GFWTfV87ZEQDRKYj
VeHNAK/NI+cxF0TdAXvJHfAyAJex0Saj6yOZIJIV5N3vs+8fJ3hKApx3Qjec3/i1
qQZ3HOgkFykB630u79P5PLxPCvq3gRhbnu3ozQ2STMeb3pexZEYGlDuTTRlsB8Zk
FLzT3H6eUdE0dQYDZhBCn3a5n2MiJK6B9UDebjbMB7Ox39xMcUEkJNNH0xFxA8KR
L6ukn8ii/bDYWtAj3+OYVM9LgC4UISkTsyJM2FB9m1/PAgMBAAGjZDBiMB0GA1Ud
DgQWBBT4hzrro1rJ6VGVgfYtDJBTdlVBlTAfBgNVHSMEGDAWgBT4hzrro1rJ6VGV
gfYtDJBTdlVBlTAPBgNVHRMBAf8EBTADAQH/MA8GA1UdEQQIMAaHBH8AAAEwDQYJ
KoZIhvcNAQELBQADggEBAKfTlckqsjkAbHRm35TxiHUtPtOs6kQqOdyW7VBD8mK+
0kcUmBEB6ISDoo5woBUGl9mj8zPgWH3h3D8IxY7CiWzqQ2GJmzt89IC+RogWWt9H
hpVxu/QyMELubW8woCVSoI5jrCazVwdxiZ8fGZ323Y1Bbc240qtPvm5eqTOgpE6G
Ev0aXAqmrWPEYjXQOzFbxq7mouAmkPB94+ZE7Xfdf4WV4l1ZpRskaeT3q6md7Cz9
0nFeHE0uv0lVK/5Ev/Mr73YWyysZcDDiRQUDARX0VaIAJADg0283sMPpQRghL8Nz
+IS5Cnt2E0IpGXfjl/g+gmQz9UM0kNrmaHmzCooOrow=
-----END CERTIFICATE-----
`

const privateKey = `-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDB1UW//2WfAMnz
kbOIjZW3HI68+6hHMLr2k7csa+DildzgDV6jRCa8+NtDyCRIBSBpryRy1uyH50yk
GegXa96+PsW6GFWTfV87ZEQDRKYjVeHNAK/NI+cxF0TdAXvJHfAyAJex0Saj6yOZ
IJIV5N3vs+8fJ3hKApx3Qjec3/i1qQZ3HOgkFykB630u79P5PLxPCvq3gRhbnu3o
zQ2STMeb3pexZEYGlDuTTRlsB8ZkFLzT3H6eUdE0dQYDZhBCn3a5n2MiJK6B9UDe
bjbMB7Ox39xMcUEkJNNH0xFxA8KRL6ukn8ii/bDYWtAj3+OYVM9LgC4UISkTsyJM
2FB9m1/PAgMBAAECggEANoBc3ekWrlg+8LVBuX4yICwv+HR8cxQBJg8P3LYypBOG
aRtpRlgF2nHQ2WS/yt5iKEU+ZuoG1QnU83lzWI6UsYKd/z8TZObGLcF6HD8jxeDC
nm14gSJ8wcFstAXURA8eeDjRbobEKigWONq/KNfTDbDW5jgnawwD6cadM4eIe69e
8swxEV/Gv4TEz2n2JqtGfHGwBMKzgTmVjVyKq20/PaUHGV1abA2tOL6aEyuSBAY9
xe4GcHXzwwDddsR3I1L17Lt86VERTN/3KcFyBYSfzdnkKhXo0gxrSN7Z0Agu60uy
9DhVC/FLNcKlCjyIKdDfDnvHJkSpTj4dnNi7dLDOaQKBgQDySo/3g9G1AT7Us+AI
6OiLdDpINNAGhujBTIqqqCOWHI7LF3MgKJp/rqhndsmNwEZRQxwMfRyzLZJYbFo+
5KiSrOceT/DzpxPCYhLCs+CeEVr3dTHPafIIYrEnsauALbCGUEqOmI5OFGzfuFGD
OrTG6sluemaTjYPFV0t+Em/5iQKBgQDMzNLnQTq7yXII+xwp1AJ13JH3nIc8fsB8
RPyZG+HuObbwZzqXqPmgPdytNcG8pJvHV6hC3IaLNsGp3XQGcECSb9JUKTBaOmEv
OGUK0bPw1zJIguSTfjxqT9gZ0PzuoeRnNvXtzZUJ6Nmm+SqG7QVQ8G6KnV1C/AjJ
SOYjXrmwlwKBgQDW2w/3qclY/ZW+ARR2UjOFFrhoN40RfKkCYOHGm/uSrhhiOJU6
u0bmWvezaD8rmInCngRNftTof0z7ZHpSs2pZR0JcOv+s0UhQY6/HQMO66CEGt8JH
7+dVUE9Qp9kxfVLAiIrVEKuAydQSP9zoxjJxAttFQP2dcyya3uJvFeJ+IQKBgQCH
8EjpoT2IGk2sMmneRdCgRRlKf0aw2/2OPwhf5McRppOMfSjCNDIFsCpDepQvUB/q
sH+KafCQhXcE9m6mO2pRCRJWNMTYjzmk60z+YnWLHnxM7z0jvb4CXx80+6h4CVOf
Qzb4cuZDnqCiGW+mAbvunrjxH0UhSkPWv6GqxpyA3wKBgQCcmdk68mWtvZNuByYr
Hmg0Vhh+YXm5NL9Ml03W5BkI6M6G+w61ut5Qo1YLnVQmwknPLg8bfUOcVgo+6hBz
a3bQCMKURyuRcB8j3gHswqTtnNs6PC1hpCHYG5etexYGOYzXggA+9DU5m5O1vNdw
O8hEWDobUWUPse6sYccEe1KGZg==
-----END PRIVATE KEY-----
`

/** @internal */
export const defaultPair: { readonly key: string; readonly cert: string } = { key: privateKey, cert: certificate }

/**
 * SHA-1 of the certificate's DER encoding in upper-case hex: what `IDENTITY_SERVER_THUMBPRINT` holds.
 *
 * @internal
 */
export const thumbprint = (pem: string): Effect.Effect<string, EmulatorError> =>
  Effect.try({
    try: () => createHash("sha1").update(new X509Certificate(pem).raw).digest("hex").toUpperCase(),
    catch: failWith("Invalid TLS certificate")
  })
