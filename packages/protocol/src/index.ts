/**
 * The statement of the wire protocol of Azure managed identity endpoints, shared by `@managed-identity/core` (the
 * Effect 3 line) and the Effect 4 line: plain TypeScript, without I/O and without dependencies. Each line performs the
 * I/O (HTTP, files, the environment, the clock) and hands plain values to these functions, which return plain data
 * (`Result`s and `Problem`s, never a thrown exception for an expected failure).
 *
 * It is not an API for applications: use `@managed-identity/core` (or the Effect 4 package). It promises nothing
 * beyond what those lines need.
 *
 * @since 0.1.0
 */

/**
 * What an endpoint answered, read: a token, or the endpoint's own error.
 *
 * @since 0.1.0
 */
export * as Answer from "./Answer.js"

/**
 * Text taken from an answer for an error field, with the request's secrets scrubbed out.
 *
 * @since 0.1.0
 */
export * as AnswerText from "./AnswerText.js"

/**
 * App Service, Azure Functions and Azure Automation.
 *
 * @since 0.1.0
 */
export * as AppService from "./sources/AppService.js"

/**
 * The Azure Arc agent, its challenge and key file.
 *
 * @since 0.1.0
 */
export * as AzureArc from "./sources/AzureArc.js"

/**
 * The client's rules about time: when a cached token is served, when a throttled answer is remembered.
 *
 * @since 0.1.0
 */
export * as Cache from "./Cache.js"

/**
 * A persisted token cache entry as text, read and written the same way by both Effect lines.
 *
 * @since 0.1.0
 */
export * as CacheEntry from "./CacheEntry.js"

/**
 * The configured token cache, as a diagnosis reports it.
 *
 * @since 0.1.0
 */
export * as CacheCheck from "./CacheCheck.js"

/**
 * Claims read without verifying anything: base64, a JWT's identity and time claims, a claims challenge.
 *
 * @since 0.1.0
 */
export * as Claims from "./Claims.js"

/**
 * Microsoft Entra's client-credentials exchange with a client assertion.
 *
 * @since 0.1.0
 */
export * as ClientAssertion from "./sources/ClientAssertion.js"

/**
 * A token's issue time against the local clock.
 *
 * @since 0.1.0
 */
export * as ClockCheck from "./ClockCheck.js"

/**
 * Azure Cloud Shell.
 *
 * @since 0.1.0
 */
export * as CloudShell from "./sources/CloudShell.js"

/**
 * Which source this host has, and why.
 *
 * @since 0.1.0
 */
export * as Detection from "./Detection.js"

/**
 * What a diagnosis of a host says: findings, variable targets, reachability.
 *
 * @since 0.1.0
 */
export * as Diagnosis from "./Diagnosis.js"

/**
 * The endpoint and secret rules, and URLs as messages show them.
 *
 * @since 0.1.0
 */
export * as Endpoint from "./Endpoint.js"

/**
 * A managed identity as a federated credential of an application.
 *
 * @since 0.1.0
 */
export * as FederatedCredential from "./sources/FederatedCredential.js"

/**
 * Why a file a host names was not read.
 *
 * @since 0.1.0
 */
export * as FileRead from "./FileRead.js"

/**
 * Loopback and link-local hosts.
 *
 * @since 0.1.0
 */
export * as Host from "./Host.js"

/**
 * The identity to get tokens for, and the selector table.
 *
 * @since 0.1.0
 */
export * as Identity from "./Identity.js"

/**
 * AKS identity bindings: workload identity through the cluster's token proxy.
 *
 * @since 0.1.0
 */
export * as IdentityBindings from "./sources/IdentityBindings.js"

/**
 * The requested identity against the identity a token names.
 *
 * @since 0.1.0
 */
export * as IdentityCheck from "./IdentityCheck.js"

/**
 * IMDS, the Azure Instance Metadata Service.
 *
 * @since 0.1.0
 */
export * as Imds from "./sources/Imds.js"

/**
 * A token's lifetime: accepted forms, the one-year cap, the half-life refresh rule.
 *
 * @since 0.1.0
 */
export * as Lifetime from "./Lifetime.js"

/**
 * Azure Machine Learning compute.
 *
 * @since 0.1.0
 */
export * as MachineLearning from "./sources/MachineLearning.js"

/**
 * What can go wrong, as plain data, and each problem's message.
 *
 * @since 0.1.0
 */
export * as Problem from "./Problem.js"

/**
 * The proxy variables that would catch a request, given `NO_PROXY`.
 *
 * @since 0.1.0
 */
export * as Proxy from "./Proxy.js"

/**
 * The request a source sends, as plain values.
 *
 * @since 0.1.0
 */
export * as Request from "./Request.js"

/**
 * What a caller may ask a token for: a resource, not a scope.
 *
 * @since 0.1.0
 */
export * as Resource from "./Resource.js"

/**
 * The outcome of a protocol function: a value or the failure it expected.
 *
 * @since 0.1.0
 */
export * as Result from "./Result.js"

/**
 * Which failures are worth another attempt, and `Retry-After`.
 *
 * @since 0.1.0
 */
export * as Retry from "./Retry.js"

/**
 * Service Fabric, trusted through the certificate thumbprint.
 *
 * @since 0.1.0
 */
export * as ServiceFabric from "./sources/ServiceFabric.js"

/**
 * What every source states about itself.
 *
 * @since 0.1.0
 */
export * as Source from "./Source.js"

/**
 * The hosts a token can come from, and their names.
 *
 * @since 0.1.0
 */
export * as SourceKind from "./SourceKind.js"

/**
 * The one list of sources, in detection order.
 *
 * @since 0.1.0
 */
export * as Sources from "./Sources.js"

/**
 * Text as people may safely see it.
 *
 * @since 0.1.0
 */
export * as Text from "./Text.js"

/**
 * The success body every endpoint shares, checked without trusting it.
 *
 * @since 0.1.0
 */
export * as TokenBody from "./TokenBody.js"

/**
 * What a transport failure means.
 *
 * @since 0.1.0
 */
export * as Transport from "./Transport.js"

/**
 * AKS workload identity.
 *
 * @since 0.1.0
 */
export * as WorkloadIdentity from "./sources/WorkloadIdentity.js"
