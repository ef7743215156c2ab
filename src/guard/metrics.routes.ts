import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../config/config.ts'
import { bearerSecretMatcher, type Metrics } from './metrics.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's metrics; the rate limiter calls `app.metrics.rateLimitHit(limit)`. */
    metrics: Metrics
  }
}

/** The route pattern, never the raw URL: ids and probes for random paths would explode the series. */
export const routeLabel = (request: FastifyRequest): string =>
  request.is404 ? 'unmatched' : request.routeOptions.url ?? 'unmatched'

/**
 * Decorates the app with its metrics and times every request. Called first in buildApp, so
 * the hook covers every route and every later plugin can reach `app.metrics`. onResponse
 * also fires for hijacked replies (tus), whose response Fastify still watches.
 */
export function registerMetrics (app: FastifyInstance, metrics: Metrics) {
  app.decorate('metrics', metrics)
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.method, routeLabel(request), reply.statusCode, reply.elapsedTime / 1000)
  })
}

/**
 * GET /metrics for Prometheus. The route needs `admin` like any admin route (deny by default,
 * 401/403 problems, denials audited), and additionally accepts the scraper's
 * `Authorization: Bearer $METRICS_TOKEN` in place of a principal: the auth hook checks that
 * credential (`orCredential`) before identifying the caller. Without METRICS_TOKEN only
 * admins can read it.
 */
export function metricsRoutes (app: FastifyInstance, deps: { config: Config, metrics: Metrics }) {
  const { registry } = deps.metrics
  app.get('/metrics', {
    config: { auth: { permission: 'admin', orCredential: bearerSecretMatcher(deps.config.metricsToken) } },
    schema: {
      tags: ['monitoring'],
      summary: 'Prometheus metrics (text exposition format)',
      description: 'For an admin, or with `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set.'
    }
  }, async (_request, reply) => {
    // The token-holder has no principal, so the app's no-store for signed-in answers does not apply.
    return reply.header('cache-control', 'no-store').type(registry.contentType).send(await registry.metrics())
  })
}
