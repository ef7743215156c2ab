/**
 * Pure: is this Origin on the allow-list? Entries are exact origins (`https://app.example.com`)
 * or subdomain wildcards (`https://*.example.com`), which match real subdomains only: not the
 * bare domain, not `example.com.evil.test`, not `evilexample.com`. `null` never matches.
 */
export function originAllowed (origin: string | undefined, allowList: readonly string[]): boolean {
  if (!origin || origin === 'null') return false
  let parsed: URL
  try {
    parsed = new URL(origin)
  } catch {
    return false
  }
  // An Origin header is scheme://host[:port] and nothing else.
  if (parsed.origin !== origin) return false
  for (const entry of allowList) {
    if (entry === origin) return true
    const wildcard = /^(https?):\/\/\*\.([a-z0-9.-]+)(:\d+)?$/i.exec(entry)
    if (!wildcard) continue
    const [, scheme, domain, port = ''] = wildcard
    if (parsed.protocol !== `${scheme!.toLowerCase()}:`) continue
    if ((parsed.port ? `:${parsed.port}` : '') !== port) continue
    const host = parsed.hostname.toLowerCase()
    const suffix = `.${domain!.toLowerCase()}`
    if (host.endsWith(suffix) && host.length > suffix.length) return true
  }
  return false
}

/** Request headers a browser may send cross-origin; anything else fails the preflight. */
export const CORS_ALLOWED_HEADERS = [
  'Authorization', 'Content-Type', 'X-API-Key', 'X-CSRF-Token', 'X-Request-Id', 'Last-Event-ID', 'Range',
  'Tus-Resumable', 'Upload-Length', 'Upload-Offset', 'Upload-Metadata', 'Upload-Defer-Length', 'Upload-Concat'
]

export const CORS_EXPOSED_HEADERS = [
  'X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset',
  'Content-Disposition', 'Content-Range', 'Location', 'Tympan-File-Id',
  'Tus-Resumable', 'Tus-Version', 'Tus-Extension', 'Tus-Max-Size', 'Upload-Offset', 'Upload-Length', 'Upload-Expires'
]
