/**
 * @since 0.1.0
 */

/**
 * A local server that speaks every managed identity protocol.
 *
 * @since 0.1.0
 */
export * as ManagedIdentityEmulator from "./ManagedIdentityEmulator.js"
