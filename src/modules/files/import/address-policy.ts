import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'
import { ImportError } from './import-error.ts'

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number]

const table = (entries: Array<[string, string]>): Array<[Range, string]> =>
  entries.map(([cidr, reason]) => [ipaddr.parseCIDR(cidr), reason])

// IANA special-purpose registries, written out so each refusal names its reason.
// Order matters only where ranges nest (broadcast inside 240/4).
const V4_RANGES = table([
  ['0.0.0.0/8', 'unspecified address'],
  ['10.0.0.0/8', 'private address'],
  ['100.64.0.0/10', 'shared (CGNAT) address'],
  ['127.0.0.0/8', 'loopback address'],
  ['169.254.0.0/16', 'link-local address'],
  ['172.16.0.0/12', 'private address'],
  ['192.0.0.0/24', 'IETF protocol address'],
  ['192.0.2.0/24', 'documentation address'],
  ['192.88.99.0/24', '6to4 relay address'],
  ['192.168.0.0/16', 'private address'],
  ['198.18.0.0/15', 'benchmarking address'],
  ['198.51.100.0/24', 'documentation address'],
  ['203.0.113.0/24', 'documentation address'],
  ['224.0.0.0/4', 'multicast address'],
  ['255.255.255.255/32', 'broadcast address'],
  ['240.0.0.0/4', 'reserved address']
])

const V6_RANGES = table([
  ['::/128', 'unspecified address'],
  ['::1/128', 'loopback address'],
  ['64:ff9b:1::/48', 'local NAT64 address'],
  ['100::/64', 'discard address'],
  ['2001:2::/48', 'benchmarking address'],
  ['2001:db8::/32', 'documentation address'],
  ['3fff::/20', 'documentation address'],
  ['fc00::/7', 'unique local address'],
  ['fe80::/10', 'link-local address'],
  ['fec0::/10', 'site-local address'],
  ['ff00::/8', 'multicast address']
])

// Only 2000::/3 is allocated as global unicast; everything else (e.g. the deprecated
// IPv4-compatible ::7f00:1, which ipaddr.js calls "unicast") is refused.
const V6_GLOBAL = ipaddr.parseCIDR('2000::/3')

const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96')

const v4FromWords = (high: number, low: number) =>
  new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff])

/**
 * IPv6 forms that carry an IPv4 address the packet may end up at. They are judged by that
 * address, so ::ffff:127.0.0.1 or 2002:7f00:1:: cannot smuggle loopback past the check.
 */
function embeddedV4 (address: ipaddr.IPv6): { via: string, v4: ipaddr.IPv4[] } | undefined {
  const [, w1, w2, w3, , , w6, w7] = address.parts as [number, number, number, number, number, number, number, number]
  if (address.isIPv4MappedAddress()) return { via: 'IPv4-mapped', v4: [address.toIPv4Address()] }
  switch (address.range()) {
    case 'rfc6052': return address.match(NAT64_WELL_KNOWN) ? { via: 'NAT64', v4: [v4FromWords(w6, w7)] } : undefined
    case '6to4': return { via: '6to4', v4: [v4FromWords(w1, w2)] }
    // Teredo: server in bits 32-63, client in the last 32 bits with every bit inverted.
    case 'teredo': return { via: 'Teredo', v4: [v4FromWords(w2, w3), v4FromWords(~w6 & 0xffff, ~w7 & 0xffff)] }
    default: return undefined
  }
}

/**
 * ipaddr.js reads the mixed notation `::127.0.0.1` as `::ffff:127.0.0.1`; the URL parser
 * serialises IPv6 as plain hex words, which ipaddr.js reads correctly. The zone id only
 * scopes a link-local address, which is refused anyway, so it is dropped.
 */
const canonicalV6 = (ip: string) => new URL(`http://[${ip.split('%', 1)[0]}]/`).hostname.slice(1, -1)

function matchTable (address: ipaddr.IPv4 | ipaddr.IPv6, ranges: Array<[Range, string]>): string | undefined {
  for (const [range, reason] of ranges) {
    if (address.kind() === range[0].kind() && address.match(range)) return reason
  }
  return undefined
}

function v4Problem (address: ipaddr.IPv4): string | undefined {
  return matchTable(address, V4_RANGES) ??
    // Anything else ipaddr.js knows as special (AS112, AMT anycast) is not a file server either.
    (address.range() === 'unicast' ? undefined : 'special-purpose address')
}

/**
 * Pure policy: `undefined` when `ip` is a public unicast address an import may connect to,
 * otherwise a short reason. Only canonical textual addresses are accepted; anything
 * else is refused rather than guessed at.
 */
export function addressProblem (ip: string): string | undefined {
  const family = isIP(ip)
  if (family === 0) return 'not an IP address'
  if (family === 4) return v4Problem(ipaddr.IPv4.parse(ip))

  const address = ipaddr.IPv6.parse(canonicalV6(ip))
  const embedded = embeddedV4(address)
  if (embedded) {
    for (const v4 of embedded.v4) {
      const problem = v4Problem(v4)
      if (problem) return `${problem} (${embedded.via})`
    }
    return undefined
  }
  const listed = matchTable(address, V6_RANGES)
  if (listed) return listed
  if (!address.match(V6_GLOBAL)) return 'reserved address'
  return address.range() === 'unicast' ? undefined : 'special-purpose address'
}

/** The IP address a URL names directly (brackets stripped), or undefined for a host name. */
export function literalAddress (url: URL): string | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  return isIP(host) === 0 ? undefined : host
}

const MAX_URL_LENGTH = 2048

export interface ImportUrlPolicy {
  allowHttp: boolean
  /** Empty or absent: 443, and 80 when http is allowed. */
  allowedPorts?: readonly number[] | undefined
}

/** Pure: the ports an import may connect to under `policy`. */
export function allowedPorts (policy: ImportUrlPolicy): readonly number[] {
  if (policy.allowedPorts && policy.allowedPorts.length > 0) return policy.allowedPorts
  return policy.allowHttp ? [443, 80] : [443]
}

/**
 * Pure: the URL an import may start from (or be redirected to). The WHATWG parser already
 * turns numeric host forms (0x7f000001, 2130706433, 127.1) into dotted quads, so the address
 * check sees the real address. Credentials are refused: they would be sent on to every
 * redirect target. Only the standard ports are allowed by default: an arbitrary port is how
 * an import probes services (Redis, SSH, admin consoles) that a public host also runs.
 */
export function parseImportUrl (raw: string, policy: ImportUrlPolicy): URL {
  if (raw.length > MAX_URL_LENGTH) throw new ImportError('invalid_url', `The URL is longer than ${MAX_URL_LENGTH} characters`)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ImportError('invalid_url', 'The URL is not valid')
  }
  const schemeAllowed = url.protocol === 'https:' || (policy.allowHttp && url.protocol === 'http:')
  if (!schemeAllowed) {
    throw new ImportError('scheme', policy.allowHttp ? 'Only http and https URLs can be imported' : 'Only https URLs can be imported')
  }
  if (url.username !== '' || url.password !== '') {
    throw new ImportError('invalid_url', 'URLs with credentials are not accepted')
  }
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80)
  const ports = allowedPorts(policy)
  if (!ports.includes(port)) {
    throw new ImportError('port', `Port ${port} is not allowed for imports (allowed: ${ports.join(', ')}; see IMPORT_ALLOWED_PORTS)`)
  }
  url.hash = ''
  return url
}
