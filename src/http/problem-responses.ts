import type { FastifyInstance, RouteOptions } from 'fastify'
import type { RouteAuth } from '../access/permissions.ts'
import { ProblemSchema } from './schemas.ts'

const TITLES: Record<number, string> = {
  400: 'Bad Request: the body is not valid JSON, or a header is malformed',
  401: 'Unauthorized: no credential, or one that is not valid',
  403: 'Forbidden: the credential lacks the permission, or a CSRF token is missing',
  404: 'Not Found: no such object, or not yours',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content: a field is invalid (`field`, `errors`)',
  429: 'Too Many Requests (`Retry-After`)'
}

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH'])

/** The problem statuses a route can answer, from what it declares: its methods, its auth, its params. */
export function problemStatuses (route: Pick<RouteOptions, 'method' | 'url' | 'schema'> & { config?: { auth?: RouteAuth } }): number[] {
  const methods = [route.method].flat()
  const hasBody = methods.some((method) => WITH_BODY.has(method))
  const schema = route.schema ?? {}
  const statuses: number[] = []
  if (hasBody) statuses.push(400)
  if (!(route.config?.auth && 'public' in route.config.auth)) statuses.push(401, 403)
  if (route.url.includes(':')) statuses.push(404)
  if (hasBody) statuses.push(413, 415)
  if (hasBody || schema.querystring || schema.params || schema.body) statuses.push(422)
  statuses.push(429)
  return statuses
}

/**
 * Declares the problem+json answers of every documented API route once, here, instead of in
 * each route's schema, so /openapi.json lists them. Keyed by media type, the schema is used
 * only to serialise problem bodies, never a route's own JSON (the OpenAI-style errors of /v1
 * are JSON, and those routes are left out anyway); it allows additional properties, because
 * problems carry extras (`field`, `errors`, `reason`, `code`, `limit`…) that must all reach the client.
 * A status the route declares itself is left alone.
 */
export function registerProblemResponses (app: FastifyInstance) {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as (RouteOptions['schema'] & { hide?: boolean, response?: Record<string, unknown> }) | undefined
    if (!schema || schema.hide || !route.url.startsWith('/api/')) return
    const response: Record<string, unknown> = { ...schema.response }
    for (const status of problemStatuses(route as Parameters<typeof problemStatuses>[0])) {
      response[status] ??= { description: TITLES[status], content: { 'application/problem+json': { schema: ProblemSchema } } }
    }
    route.schema = { ...schema, response }
  })
}
