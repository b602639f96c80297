/**
 * A value made on first use, then kept: for work done once per process (compiling a `Schema` parser) that a cold
 * start should not pay for at import time, and that a process which never needs it never pays for.
 */
export const lazy = <A>(make: () => A): () => A => {
  let made: { readonly value: A } | undefined
  return () => (made ??= { value: make() }).value
}
