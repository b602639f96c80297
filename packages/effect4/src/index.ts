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
 * The typed errors.
 *
 * @since 0.1.0
 */
export * as ManagedIdentityError from "./ManagedIdentityError.js"

/**
 * One request for a token.
 *
 * @since 0.1.0
 */
export * as TokenRequest from "./TokenRequest.js"
