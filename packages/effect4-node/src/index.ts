/**
 * @since 0.1.0
 */

/**
 * Node.js persistent token cache.
 *
 * @since 0.1.0
 */
export * as NodeTokenCache from "./NodeTokenCache.js"

/**
 * Node.js layers.
 *
 * @since 0.1.0
 */
export * as NodeManagedIdentity from "./NodeManagedIdentity.js"
