import type { IncomingHttpHeaders } from 'node:http'
import ipaddr from 'ipaddr.js'
import type { Tier } from '../db/schema.ts'
import type { Principal, RouteAuth } from '../access/permissions.ts'

/** The budgets a request can spend. `requests` applies to every request; the others per route. */
export type LimitName = 'requests' | 'uploads' | 'login_ip' | 'login_account'

/** A stricter budget a route opts into with `config: { rateLimit: '…' }`. */
export type RouteLimit = 'uploads' | 'login'

/** Who pays for a request: the API key, else the user, else the client address. */
export interface Subject {
  kind: 'api_key' | 'user' | 'ip'
  /** Stable counter key, e.g. `api_key:3f2a…`, `user:<uuid>`, `ip:2001:db8:1:2::/64`. */
  key: string
  tier: Tier
}

// Liveness answers from memory (no I/O, nothing to amplify), and a liveness probe refused 429
// would get a healthy process restarted. /readyz touches the database and is limited.
const EXEMPT_ROUTES = new Set(['/healthz'])

/**
 * Never limited: the liveness probe, and a request that carries the route's own credential
 * (`orCredential`: the scraper's METRICS_TOKEN on /metrics), so scraping never breaks.
 * Anything else on /metrics, a wrong token included, is limited like any request.
 */
export function isExempt (routeUrl: string | undefined, auth: RouteAuth | undefined, headers: IncomingHttpHeaders): boolean {
  if (routeUrl !== undefined && EXEMPT_ROUTES.has(routeUrl)) return true
  return auth !== undefined && 'permission' in auth && auth.orCredential !== undefined && auth.orCredential(headers)
}

/**
 * The client's address as a counter key. An IPv6 client usually holds a whole /64 (SLAAC,
 * privacy addresses), so counting single addresses would give it 2^64 budgets; IPv4-mapped
 * IPv6 addresses count as the IPv4 address they are.
 */
export function addressKey (ip: string): string {
  if (!ipaddr.isValid(ip)) return ip
  const address = ipaddr.process(ip)
  if (address.kind() === 'ipv4') return address.toString()
  const network = new ipaddr.IPv6([...(address as ipaddr.IPv6).parts.slice(0, 4), 0, 0, 0, 0])
  return `${network.toString()}/64`
}

/**
 * Undefined means "never limited": internal service keys. Anything that could not be
 * identified (no credential, or a bad one) is counted by address on the free tier, so a
 * flood of invalid keys is limited like any other anonymous traffic.
 */
export function rateLimitSubject (principal: Principal | undefined, ip: string): Subject | undefined {
  if (principal?.kind === 'internal') return undefined
  if (principal?.kind === 'api_key' && principal.keyId) return { kind: 'api_key', key: `api_key:${principal.keyId}`, tier: principal.tier }
  if (principal) return { kind: 'user', key: `user:${principal.userId}`, tier: principal.tier }
  return { kind: 'ip', key: `ip:${addressKey(ip)}`, tier: 'free' }
}

/**
 * Sign-in attempts for one account from one client (whatever the spelling of the email).
 * Never the account alone: a budget shared by every address would let anyone lock the
 * owner out by spending it (ASVS 5.0 6.3.1).
 */
export const accountKey = (email: string, ip: string): string => `account:${email.trim().toLowerCase()}|ip:${addressKey(ip)}`

export interface LimitState {
  limit: number
  remaining: number
  /** Milliseconds until the window resets and the budget is whole again. */
  resetMs: number
}

const seconds = (ms: number): number => Math.max(0, Math.ceil(ms / 1000))

/** The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers); Reset is in seconds. */
export function rateLimitHeaders (state: LimitState): Record<string, string> {
  return {
    'ratelimit-limit': String(state.limit),
    'ratelimit-remaining': String(Math.max(0, state.remaining)),
    'ratelimit-reset': String(seconds(state.resetMs))
  }
}

/** Whole seconds to wait, never 0: `Retry-After: 0` invites an immediate retry storm. */
export const retryAfterSeconds = (resetMs: number): number => Math.max(1, seconds(resetMs))

/** When several budgets apply, the headers describe the one closest to running out. */
export function tighter (a: LimitState | undefined, b: LimitState): LimitState {
  if (!a) return b
  if (b.remaining !== a.remaining) return b.remaining < a.remaining ? b : a
  return b.resetMs > a.resetMs ? b : a
}
