/**
 * @since 0.1.0
 */

/**
 * What callers of `ManagedIdentityClient.getToken` receive.
 *
 * @since 0.1.0
 */
export * as AccessToken from "./AccessToken.js"

/**
 * Tokens from App Service, Azure Functions and Azure Automation.
 *
 * @since 0.1.0
 */
export * as AppServiceTokenSource from "./AppServiceTokenSource.js"

/**
 * Tokens from the Azure Arc agent.
 *
 * @since 0.1.0
 */
export * as AzureArcTokenSource from "./AzureArcTokenSource.js"

/**
 * An `HttpClient` middleware adding managed identity bearer tokens, with claims challenges.
 *
 * @since 0.1.0
 */
export * as BearerAuth from "./BearerAuth.js"

/**
 * Tokens from Azure Cloud Shell.
 *
 * @since 0.1.0
 */
export * as CloudShellTokenSource from "./CloudShellTokenSource.js"

/**
 * A managed identity as a federated credential of an application, usually in another tenant.
 *
 * @since 0.1.0
 */
export * as FederatedCredentialTokenSource from "./FederatedCredentialTokenSource.js"

/**
 * Tokens from the Azure Instance Metadata Service.
 *
 * @since 0.1.0
 */
export * as ImdsTokenSource from "./ImdsTokenSource.js"

/**
 * The proxy-free transport for loopback and link-local endpoints.
 *
 * @since 0.1.0
 */
export * as LocalHttpClient from "./LocalHttpClient.js"

/**
 * Tokens from Azure Machine Learning compute.
 *
 * @since 0.1.0
 */
export * as MachineLearningTokenSource from "./MachineLearningTokenSource.js"

/**
 * The identity to get tokens for.
 *
 * @since 0.1.0
 */
export * as ManagedIdentity from "./ManagedIdentity.js"

/**
 * The client: cache, single flight, refresh, claims.
 *
 * @since 0.1.0
 */
export * as ManagedIdentityClient from "./ManagedIdentityClient.js"

/**
 * Diagnosis of a host: detection, variables, one timed request, the token's identity and issue time, the cache.
 *
 * @since 0.1.0
 */
export * as ManagedIdentityDiagnosis from "./ManagedIdentityDiagnosis.js"

/**
 * The typed errors.
 *
 * @since 0.1.0
 */
export * as ManagedIdentityError from "./ManagedIdentityError.js"

/**
 * Detection of the host's source, and the layer that provides it.
 *
 * @since 0.1.0
 */
export * as ManagedIdentitySource from "./ManagedIdentitySource.js"

/**
 * Retry schedules and predicates.
 *
 * @since 0.1.0
 */
export * as RetryPolicy from "./RetryPolicy.js"

/**
 * Tokens from Service Fabric, over a pinned TLS connection.
 *
 * @since 0.1.0
 */
export * as ServiceFabricTokenSource from "./ServiceFabricTokenSource.js"

/**
 * The token cache.
 *
 * @since 0.1.0
 */
export * as TokenCache from "./TokenCache.js"

/**
 * An adapter to the Azure SDK's `TokenCredential`.
 *
 * @since 0.1.0
 */
export * as TokenCredential from "./TokenCredential.js"

/**
 * One request for a token.
 *
 * @since 0.1.0
 */
export * as TokenRequest from "./TokenRequest.js"

/**
 * The `TokenSource` service.
 *
 * @since 0.1.0
 */
export * as TokenSource from "./TokenSource.js"

/**
 * Tokens for an AKS pod's workload identity, with identity bindings.
 *
 * @since 0.1.0
 */
export * as WorkloadIdentityTokenSource from "./WorkloadIdentityTokenSource.js"
