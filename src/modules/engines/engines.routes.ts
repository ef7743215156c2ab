import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { EnginesService } from './engines.service.ts'

const EngineSchema = Type.Object({
  name: Type.String(),
  available: Type.Boolean(),
  version: Type.Optional(Type.String()),
  package: Type.String({ description: 'The Debian package that provides it' }),
  languages: Type.Optional(Type.Array(Type.String())),
  voices: Type.Optional(Type.Array(Type.String())),
  detail: Type.Optional(Type.String())
})

export function enginesRoutes (app: FastifyInstance, deps: { engines: EnginesService }) {
  app.withTypeProvider<TypeBoxTypeProvider>().get('/api/v1/engines', {
    config: { auth: { permission: 'jobs:read' } },
    schema: {
      tags: ['jobs'],
      summary: 'Installed engines, with versions, languages and voices',
      response: { 200: Type.Object({ engines: Type.Array(EngineSchema) }) }
    }
  }, async () => ({ engines: await deps.engines.list() }))
}
