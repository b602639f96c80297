/**
 * What a caller may ask a token for: a resource (an audience), not a scope.
 *
 * @since 0.1.0
 */

/**
 * Turns a scope into its resource: a trailing `/.default` is dropped (`https://vault.azure.net/.default` →
 * `https://vault.azure.net`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromScope = (scope: string): string =>
  scope.endsWith("/.default") ? scope.slice(0, -"/.default".length) : scope

const uriWithScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/
const applicationId = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/

/**
 * Whether a text can be a resource: an absolute URI with a scheme (`https://vault.azure.net`, `api://my-app`) or an
 * application id (a GUID), without blanks. `vault.azure.net` cannot: an endpoint would issue a token for an audience
 * nobody accepts, or refuse it.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isResource = (resource: string): boolean => uriWithScheme.test(resource) || applicationId.test(resource)

/**
 * Why a text passed as a resource is not one (see {@link isResource}); the text is shown, up to 200 characters.
 *
 * @since 0.1.0
 * @category formatting
 */
export const notAResource = (resource: string): string =>
  `getToken takes a resource, a URI with a scheme such as https://vault.azure.net or an application id, and ${
    JSON.stringify(resource.length > 200 ? `${resource.slice(0, 200)}…` : resource)
  } is neither`
