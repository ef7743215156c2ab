import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config/config.ts'
import { bearerSecretMatcher, type Metrics } from '../../observability/metrics.ts'

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
