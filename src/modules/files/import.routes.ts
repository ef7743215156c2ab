import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import type { Metrics } from '../../observability/metrics.ts'
import { HttpProblem } from '../../http/problem.ts'
import { FileSchema, ImportBody } from './files.schemas.ts'
import { toPublicFile, type FilesService } from './files.service.ts'
import { ImportError } from './import/import-error.ts'
import type { UrlImporter } from './import/url-import.ts'

export function importRoutes (app: FastifyInstance, deps: { files: FilesService, importer: UrlImporter, audit: RequestAuditor, metrics: Pick<Metrics, 'uploadRefused'> }) {
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
    const principal = request.principal!
    const allowance = await deps.files.uploadAllowance(principal)
    let imported
    try {
      imported = await deps.importer.fetch(request.body.url, allowance.maxBytes)
    } catch (error) {
      if (!(error instanceof ImportError)) throw error
      request.log.info({ reason: error.code, err: error.cause }, 'URL import refused')
      // Counted by the ImportError's code, or as size/quota; accept() counts its own refusals.
      if (error.code === 'too_large') {
        const problem = deps.files.sizeProblem(allowance)
        deps.metrics.uploadRefused(problem)
        throw problem
      }
      deps.metrics.uploadRefused(error)
      throw new HttpProblem(422, 'Unprocessable Content', error.message, { extra: { reason: error.code } })
    }
    const file = await deps.files.accept(principal, imported.staged, { name: imported.name, source: 'import', sourceUrl: imported.sourceUrl })
    await deps.audit(request, 'file.imported', 201, { fileId: file.id, host: new URL(imported.sourceUrl).hostname })
    return reply.code(201).send(toPublicFile(file))
  })
}
