import type { CheckItem } from './production-checklist.ts'

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]'])

/** The URL, or undefined when it does not parse (config parsing reports that elsewhere). */
function parse (url: string): URL | undefined {
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}

// A Unix socket (host=/run/postgresql, or no host at all) or a loopback address never leaves the machine.
function isLocal (url: URL): boolean {
  const socket = url.searchParams.get('host')
  if (socket?.startsWith('/')) return true
  return url.hostname === '' || LOOPBACK.has(url.hostname)
}

/**
 * Pure: whether a PostgreSQL URL makes the client require TLS. verify-full is the one to use:
 * it checks the certificate and the server's name in libpq and node-postgres alike, where
 * node-postgres reads `require` as verify-full for now (with a deprecation warning) and libpq
 * as "encrypt, verify nothing".
 */
export function postgresTlsCheck (name: string, url: string): CheckItem {
  const item = `${name} requires TLS (sslmode=verify-full)`
  const parsed = parse(url)
  if (!parsed) return { item, status: 'warn', detail: 'not a URL' }
  const mode = parsed.searchParams.get('sslmode')
  if (mode === 'verify-full') return { item, status: 'pass', detail: 'sslmode=verify-full' }
  if (mode === 'require' || mode === 'verify-ca') return { item, status: 'pass', detail: `sslmode=${mode}; verify-full is recommended (it also checks the server's name)` }
  // node-postgres's own spelling (a verified TLS connection), which libpq and psql do not read.
  if (!mode && ['true', '1'].includes(parsed.searchParams.get('ssl') ?? '')) return { item, status: 'pass', detail: 'ssl=true; sslmode=verify-full says the same to every client' }
  if (isLocal(parsed)) return { item, status: 'pass', detail: 'local connection (does not leave the machine)' }
  return { item, status: 'warn', detail: `${mode ? `sslmode=${mode}` : 'no sslmode'}: the connection may be unencrypted; add ?sslmode=verify-full (with sslrootcert= when the server's CA is private)` }
}

/** Pure: REDIS_URL's password (AUTH) and TLS (rediss://), as two findings. */
export function redisChecks (url: string): CheckItem[] {
  const parsed = parse(url)
  if (!parsed) return [{ item: 'REDIS_URL', status: 'warn', detail: 'not a URL' }]
  const tls = parsed.protocol === 'rediss:'
  return [
    parsed.password
      ? { item: 'Redis AUTH (REDIS_URL has a password)', status: 'pass', detail: parsed.username ? `user ${decodeURIComponent(parsed.username)}` : 'password set' }
      : { item: 'Redis AUTH (REDIS_URL has a password)', status: 'warn', detail: 'no password: anyone who reaches the server may read and write it; use redis://:PASSWORD@host (requirepass or an ACL user)' },
    tls
      ? { item: 'Redis TLS (rediss://)', status: 'pass', detail: 'rediss://' }
      : isLocal(parsed)
        ? { item: 'Redis TLS (rediss://)', status: 'pass', detail: 'local connection (does not leave the machine)' }
        : { item: 'Redis TLS (rediss://)', status: 'warn', detail: 'redis:// is plain text on the network: use rediss://' }
  ]
}
