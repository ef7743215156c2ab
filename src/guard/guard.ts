import cors from '@fastify/cors'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import v8 from 'node:v8'
import type { Config } from '../config/config.ts'
import { sendProblem } from '../http/error-handler.ts'
import { PUBLIC } from '../access/permissions.ts'
import { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, originAllowed } from './cors-policy.ts'

const RETRY_AFTER_SEC = 10
// Probes must answer over plain HTTP: load balancers check them before TLS is in place.
const PLAIN_HTTP_PATHS = new Set(['/healthz', '/readyz'])

/**
 * The request-edge protections that are not about identity: load shedding, HTTPS
 * enforcement and CORS (the security headers are set before them: security-headers.ts).
 * Registered before authentication, so a refused request costs no database work.
 */
export async function registerGuard (app: FastifyInstance, config: Config) {
  // The CORS plugin's catch-all OPTIONS route is public by nature (preflights carry no credentials).
  app.addHook('onRoute', (route) => {
    if (route.url === '*' && [route.method].flat().includes('OPTIONS') && !route.config?.auth) route.config = { ...route.config, auth: PUBLIC }
  })

  await app.register(underPressure, {
    maxEventLoopDelay: config.pressure.maxEventLoopDelayMs,
    maxHeapUsedBytes: config.pressure.maxHeapBytes || Math.floor(v8.getHeapStatistics().heap_size_limit * 0.9),
    retryAfter: RETRY_AFTER_SEC,
    exposeStatusRoute: false,
    pressureHandler: (request, reply, type) => {
      request.log.warn({ pressure: type }, 'shedding load')
      reply.header('retry-after', String(RETRY_AFTER_SEC))
      void sendProblem(request, reply, 503, 'The server is overloaded; retry later')
    }
  })

  if (config.forceHttps) {
    const redirectOrigin = config.publicUrl ? new URL(config.publicUrl).origin : undefined
    app.addHook('onRequest', async (request, reply) => {
      if (request.protocol === 'https' || PLAIN_HTTP_PATHS.has(request.url.split('?')[0] ?? '')) return
      const navigation = (request.method === 'GET' || request.method === 'HEAD') &&
        String(request.headers.accept ?? '').includes('text/html') && !request.url.startsWith('/api/') && !request.url.startsWith('/v1/')
      // Only PUBLIC_URL names where to go: a redirect built from the Host header would send a
      // victim, through a poisoned cache or a forged link, to any host the attacker names.
      if (navigation && redirectOrigin) return reply.redirect(`${redirectOrigin}${request.url}`, 308)
      // A silent redirect would make clients resend credentials in the clear; refuse instead.
      return sendProblem(request, reply, 403, 'HTTPS is required: send this request to the https:// address')
    })
  }

  await app.register(cors, {
    origin: (origin, callback) => callback(null, originAllowed(origin, config.corsOrigins)),
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600,
    strictPreflight: true
  })

}
