import type { FastifyInstance } from 'fastify'
import type { Db } from '../../db/database.ts'
import type { Storage } from '../../storage/storage.ts'
import { sendProblem } from '../../http/error-handler.ts'
import { PUBLIC } from '../../access/permissions.ts'
import { Liveness, Readiness } from './health.schemas.ts'

const READY_TIMEOUT_MS = 2000

export function healthRoutes (app: FastifyInstance, deps: { db: Db, storage: Storage }) {
  app.get('/healthz', {
    config: { auth: PUBLIC },
    schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: Liveness } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    config: { auth: PUBLIC },
    schema: { tags: ['health'], summary: 'Readiness: the database and the file storage answer', response: { 200: Readiness } }
  }, async (request, reply) => {
    for (const [what, check] of [['database', () => deps.db.ping()], ['file storage', () => deps.storage.ping()]] as const) {
      try {
        await withTimeout(check(), READY_TIMEOUT_MS)
      } catch (error) {
        request.log.warn({ err: error }, `readiness check failed: ${what}`)
        reply.header('retry-after', '5')
        return sendProblem(request, reply, 503, `The ${what} is not reachable`)
      }
    }
    return { status: 'ready' as const, database: deps.db.backend }
  })
}

function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
