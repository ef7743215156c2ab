/**
 * Pure: the methods registered for a concrete path, from Fastify route patterns
 * (`/api/v1/files/:id`, `/docs/*`). Lets an unmatched request tell "no such path" (404) from
 * "no such method here" (405 with Allow).
 */
export function methodMatcher (routes: readonly { method: string, url: string }[]) {
  // The CORS plugin's catch-all (OPTIONS *) matches every path; it says nothing about one.
  const compiled = routes.filter((route) => route.url !== '*').map((route) => ({
    method: route.method,
    pattern: new RegExp(`^${route.url.split('/').map((segment) => {
      if (segment === '*') return '.*'
      if (segment.startsWith(':')) return '[^/]+'
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    }).join('/')}$`)
  }))
  return (path: string): string[] =>
    [...new Set(compiled.filter((route) => route.pattern.test(path)).map((route) => route.method))].sort()
}
