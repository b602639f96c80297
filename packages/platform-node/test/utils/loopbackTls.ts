/**
 * A self-signed certificate and its key for test servers on 127.0.0.1 (ECDSA P-256, CN and subjectAltName
 * `127.0.0.1`, a CA of its own, valid for 100 years; made once with the `openssl` CLI). The key is public on purpose:
 * it only ever protects loopback servers in these tests.
 */

/** The certificate, PEM: a client trusts it as its CA, or pins its thumbprint. */
export const certificate = `-----BEGIN CERTIFICATE-----
MIIBkDCCATagAwIBAgIUCeUTu3Ms2h5ip9NIH7FU76dFaLMwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTIwNjA0MTIyNVoYDzIxMjYxMTEy
MDQxMjI1WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAT8j84MQ+vhTEjn/37P5IgV9z/gtQwXxF9lUQutw0K2JCYEoPNKLmQJ
WfUI9ZlGCkcY3lgu7yLCbbnDByUZZ503o2QwYjAdBgNVHQ4EFgQUCMv7rbmm+UfB
n+Ey4VaKWS//swQwHwYDVR0jBBgwFoAUCMv7rbmm+UfBn+Ey4VaKWS//swQwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUC
IAQbu1XOiKKvPrna2W++2F9DoI1pxQ2Jntnpm3JXrNWqAiEA1EoX16IcUFpfY2vq
SytI5+EQnyy3vutWy8pMzRw3V+s=
-----END CERTIFICATE-----
`

/** The certificate's private key, PEM. */
export const privateKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgn8xDkDnzRZXTtj/O
/gn6RzEWwbtULKW5cLzDRuBmtd6hRANCAAT8j84MQ+vhTEjn/37P5IgV9z/gtQwX
xF9lUQutw0K2JCYEoPNKLmQJWfUI9ZlGCkcY3lgu7yLCbbnDByUZZ503
-----END PRIVATE KEY-----
`
