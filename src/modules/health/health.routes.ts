import type { FastifyInstance } from 'fastify'
import { sendProblem } from '../../http/error-handler.ts'
import { PUBLIC } from '../../access/permissions.ts'
import type { HealthService } from './health.service.ts'
import { Liveness, Readiness } from './health.schemas.ts'

export function healthRoutes (app: FastifyInstance, deps: { health: HealthService, backend: string }) {
  app.get('/healthz', {
    config: { auth: PUBLIC },
    schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: Liveness } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    config: { auth: PUBLIC },
    schema: { tags: ['health'], summary: 'Readiness: the database and the file storage answer', response: { 200: Readiness } }
  }, async (request, reply) => {
    const unready = await deps.health.firstUnready()
    if (!unready) return { status: 'ready' as const, database: deps.backend }
    request.log.warn({ err: unready.error }, `readiness check failed: ${unready.what}`)
    reply.header('retry-after', '5')
    return sendProblem(request, reply, 503, `The ${unready.what} is not reachable`)
  })
}
