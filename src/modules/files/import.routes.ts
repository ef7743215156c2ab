import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import { FileSchema, ImportBody } from './files.schemas.ts'
import { toPublicFile } from './files.service.ts'
import type { ImportService } from './import.service.ts'

export function importRoutes (app: FastifyInstance, deps: { imports: ImportService, audit: RequestAuditor }) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>()
  r.post('/api/v1/files/import', {
    config: { auth: { permission: 'files:write' }, rateLimit: 'uploads' },
    schema: {
      tags: ['files'],
      summary: 'Import an audio file from a URL',
      description: 'https only; private, loopback and link-local addresses are refused at every redirect (at most 3); the download is capped in size and time, then checked like an upload.',
      body: ImportBody,
      response: { 201: FileSchema }
    }
  }, async (request, reply) => {
    const { file, sourceUrl } = await deps.imports.importUrl(request.principal!, request.body.url, request.log)
    await deps.audit(request, 'file.imported', 201, { fileId: file.id, host: new URL(sourceUrl).hostname })
    return reply.code(201).send(toPublicFile(file))
  })
}
