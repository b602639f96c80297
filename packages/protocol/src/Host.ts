/**
 * What kind of host a URL names: loopback (the machine itself) or link-local (the attached link only, where IMDS
 * lives), judged from the host name alone, without resolving anything.
 *
 * @since 0.1.0
 */

/** The four numbers of a dotted IPv4 address (each 0–255, no leading zero), or `undefined`. */
const ipv4 = (host: string): ReadonlyArray<number> | undefined => {
  const parts = host.split(".")
  if (parts.length !== 4) return undefined
  const numbers: Array<number> = []
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined
    const value = Number(part)
    if (value > 255) return undefined
    numbers.push(value)
  }
  return numbers
}

/** The eight 16-bit groups of an IPv6 address (brackets allowed, no zone, a dotted IPv4 tail allowed), or `undefined`. */
const ipv6 = (host: string): ReadonlyArray<number> | undefined => {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  if (!bare.includes(":") || !/^[0-9a-fA-F:.]+$/.test(bare)) return undefined
  const halves = bare.split("::")
  if (halves.length > 2) return undefined
  const groups = (text: string): Array<number> | undefined => {
    if (text === "") return []
    const out: Array<number> = []
    const pieces = text.split(":")
    for (let index = 0; index < pieces.length; index++) {
      const piece = pieces[index]
      if (index === pieces.length - 1 && piece.includes(".")) {
        const v4 = ipv4(piece)
        if (v4 === undefined) return undefined
        out.push(v4[0] * 256 + v4[1], v4[2] * 256 + v4[3])
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16))
      } else {
        return undefined
      }
    }
    return out
  }
  const head = groups(halves[0])
  const tail = halves.length === 2 ? groups(halves[1]) : []
  if (head === undefined || tail === undefined) return undefined
  if (halves.length === 1) return head.length === 8 ? head : undefined
  const missing = 8 - head.length - tail.length
  return missing >= 1 ? [...head, ...Array<number>(missing).fill(0), ...tail] : undefined
}

/** The IPv4 address an IPv6 address maps (`::ffff:a.b.c.d`), if it is one. */
const mappedIpv4 = (groups: ReadonlyArray<number>): ReadonlyArray<number> | undefined =>
  groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff
    ? [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff]
    : undefined

const normalise = (hostname: string): string => hostname.toLowerCase().replace(/\.$/, "")

/**
 * Whether `hostname` (as `URL.hostname` gives it; IPv6 with or without brackets) is a loopback host: `localhost`,
 * `127.0.0.0/8`, `::1`, or `127.0.0.0/8` mapped into IPv6. Never throws. (A name under `.localhost` is not counted:
 * nothing promises that the resolver keeps it on the machine.)
 *
 * @since 0.1.0
 * @category predicates
 */
export const isLoopback = (hostname: string): boolean => {
  const host = normalise(hostname)
  if (host === "localhost") return true
  const v4 = ipv4(host)
  if (v4 !== undefined) return v4[0] === 127
  const v6 = ipv6(host)
  if (v6 === undefined) return false
  const mapped = mappedIpv4(v6)
  return mapped !== undefined ? mapped[0] === 127 : v6.slice(0, 7).every((group) => group === 0) && v6[7] === 1
}

/**
 * Whether `hostname` is an IPv4 link-local address, `169.254.0.0/16` (where IMDS is, `169.254.169.254`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isLinkLocalIpv4 = (hostname: string): boolean => {
  const v4 = ipv4(normalise(hostname))
  return v4 !== undefined && v4[0] === 169 && v4[1] === 254
}

/**
 * Whether `hostname` is a link-local address: `169.254.0.0/16`, `fe80::/10`, or `169.254.0.0/16` mapped into IPv6.
 * Never throws.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isLinkLocal = (hostname: string): boolean => {
  const host = normalise(hostname)
  if (isLinkLocalIpv4(host)) return true
  const v6 = ipv6(host)
  if (v6 === undefined) return false
  const mapped = mappedIpv4(v6)
  return mapped !== undefined ? mapped[0] === 169 && mapped[1] === 254 : (v6[0] & 0xffc0) === 0xfe80
}

/**
 * Whether `hostname` is loopback or link-local ({@link isLoopback}, {@link isLinkLocal}).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isLoopbackOrLinkLocal = (hostname: string): boolean => isLoopback(hostname) || isLinkLocal(hostname)
