/**
 * Which requests the web UI answers. Pure, so the rules are tested without a server.
 *
 * The UI routes on the client: a reload or a shared link of `/jobs/…` must get the app's
 * page. Only a browser navigation gets it (GET or HEAD that accepts HTML), never a path of
 * the API, the docs, the probes or the metrics (their unknown paths stay problem+json 404s
 * for clients), and never a path that names a file (`/assets/gone.js`, `/favicon.ico`): a
 * missing file answered with HTML would be parsed as script or style and hide the 404.
 */
const SERVER_PREFIXES = ['/api', '/v1', '/docs', '/openapi.json', '/healthz', '/readyz', '/metrics', '/assets']

export const NONCE_PLACEHOLDER = '__TYMPAN_CSP_NONCE__'

export const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable'
export const PAGE_CACHE_CONTROL = 'no-cache'

export function isPageNavigation (method: string, url: string, accept: string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false
  if (!accept?.includes('text/html')) return false
  const path = url.split('?', 1)[0] ?? ''
  if (!path.startsWith('/') || path.startsWith('//')) return false
  if (SERVER_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) return false
  const last = path.slice(path.lastIndexOf('/') + 1)
  return !last.includes('.')
}

/** Hashed build output (Vite's `assets/name-hash.ext`) never changes under its name; everything else is revalidated. */
export function cacheControlFor (relativePath: string): string {
  return relativePath.split(/[\\/]/)[0] === 'assets' ? ASSET_CACHE_CONTROL : PAGE_CACHE_CONTROL
}
