import type { FastifyRequest } from 'fastify'
import type { Principal, RouteAuth } from '../access/permissions.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth
  }
  interface FastifyRequest {
    principal?: Principal
    /** Why the request's credentials were refused; thrown by the authorize stage. */
    authError?: unknown
  }
  interface FastifyInstance {
    routeAuthTable: RouteAuthEntry[]
  }
}

/** One registered route and what it demands (undefined: it declares nothing and is closed). */
export interface RouteAuthEntry {
  method: string
  url: string
  auth: RouteAuth | undefined
}

/** What the audit trail and the services record of the request an action came with. */
export interface RequestMeta {
  requestId: string
  ip: string
  userAgent: string
  method: string
  route: string
}

export function requestMeta (request: FastifyRequest): RequestMeta {
  return {
    requestId: request.id,
    ip: request.ip,
    userAgent: String(request.headers['user-agent'] ?? ''),
    method: request.method,
    route: request.routeOptions.url ?? request.url.split('?')[0] ?? ''
  }
}

/** The route pattern, never the raw URL: ids and probes for random paths would explode the series. */
export const routeLabel = (request: FastifyRequest): string =>
  request.is404 ? 'unmatched' : request.routeOptions.url ?? 'unmatched'
