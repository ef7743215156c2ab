import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { EnginesService } from './engines.service.ts'
import { EngineList } from './engines.schemas.ts'

export function enginesRoutes (app: FastifyInstance, deps: { engines: EnginesService }) {
  app.withTypeProvider<TypeBoxTypeProvider>().get('/api/v1/engines', {
    config: { auth: { permission: 'jobs:read' } },
    schema: {
      tags: ['jobs'],
      summary: 'Installed engines, with versions, languages and voices',
      response: { 200: EngineList }
    }
  }, async () => ({ engines: await deps.engines.list() }))
}
