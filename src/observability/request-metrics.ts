import type { FastifyInstance } from 'fastify'
import { routeLabel } from '../http/request-context.ts'
import type { Metrics } from './metrics.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's metrics, for plugins registered after it. */
    metrics: Metrics
  }
}

/**
 * Decorates the app with its metrics and times every request. Called first in buildApp, so
 * the hook covers every route and every later plugin can reach `app.metrics`. onResponse
 * also fires for hijacked replies (tus), whose response Fastify still watches.
 */
export function registerMetrics (app: FastifyInstance, metrics: Metrics) {
  app.decorate('metrics', metrics)
  // The callback form: an async hook would cost a promise on every request.
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observeRequest(request.method, routeLabel(request), reply.statusCode, reply.elapsedTime / 1000)
    done()
  })
}
