import multipart from '@fastify/multipart'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { create as contentDisposition } from 'content-disposition'
import type { FastifyInstance } from 'fastify'
import rangeParser from 'range-parser'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import { HttpProblem } from '../../http/problem.ts'
import { IdParams } from '../../http/schemas.ts'
import { FilePage, FileSchema, ListFilesQuery } from './files.schemas.ts'
import { toPublicFile, type FilesService } from './files.service.ts'
import { receiveUpload, type UploadDeps } from './multipart-upload.ts'

const tags = ['files']

export interface FilesRoutesDeps {
  files: FilesService
  uploads: UploadDeps
  audit: RequestAuditor
}

export function filesRoutes (app: FastifyInstance, deps: FilesRoutesDeps) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>()

  // Multipart is parsed only inside this scope, so no other route accepts form bodies.
  app.register(async (scope) => {
    await scope.register(multipart, { throwFileSizeLimit: false })
    scope.post('/api/v1/files', {
      config: { auth: { permission: 'files:write' }, rateLimit: 'uploads' },
      schema: {
        tags,
        summary: 'Upload one audio file (multipart/form-data, field "file")',
        description: 'Allowed: .mp3 .wav .flac .aac .ogg .m4a .wma. The bytes must match the extension, decode with ffmpeg, and stay within the size, duration and quota limits; every refusal is a 4xx problem that says which.',
        consumes: ['multipart/form-data'],
        response: { 201: FileSchema }
      }
    }, async (request, reply) => {
      const principal = request.principal!
      const upload = await receiveUpload(request, reply, principal, deps.uploads)
      const file = await deps.files.accept(principal, upload.staged, { name: upload.name, source: 'upload' })
      await deps.audit(request, 'file.uploaded', 201, { fileId: file.id, size: Number(file.size), format: file.format })
      return reply.code(201).send(toPublicFile(file))
    })
  })

  r.get('/api/v1/files', {
    config: { auth: { permission: 'files:read' } },
    schema: {
      tags,
      summary: 'Your files, newest first',
      querystring: ListFilesQuery,
      response: { 200: FilePage }
    }
  }, async (request) => {
    const page = await deps.files.list(request.principal!, request.query.limit ?? 50, request.query.cursor, request.query.q)
    return { items: page.items.map(toPublicFile), nextCursor: page.nextCursor }
  })

  r.get('/api/v1/files/:id', {
    config: { auth: { permission: 'files:read' } },
    schema: { tags, summary: 'One file', params: IdParams, response: { 200: FileSchema } }
  }, async (request) => toPublicFile(await deps.files.get(request.principal!, request.params.id)))

  r.get('/api/v1/files/:id/content', {
    config: { auth: { permission: 'files:read' } },
    schema: { tags, summary: 'The stored audio (supports Range requests)', params: IdParams }
  }, async (request, reply) => {
    const file = await deps.files.get(request.principal!, request.params.id)
    const size = Number(file.size)
    let range: { start: number, end: number } | undefined
    const header = request.headers.range
    if (header) {
      const parsed = rangeParser(size, header, { combine: true })
      if (parsed === -1) {
        reply.header('content-range', `bytes */${size}`)
        throw new HttpProblem(416, 'Range Not Satisfiable', `The range is outside the file (${size} bytes)`)
      }
      // Malformed or multi-range requests get the whole file, as RFC 9110 allows.
      if (parsed !== -2 && parsed.type === 'bytes' && parsed.length === 1) range = parsed[0]
    }
    const { stream } = await deps.files.content(request.principal!, file.id, range)
    reply
      .header('content-type', file.content_type)
      .header('content-disposition', contentDisposition(file.name, { type: 'attachment' }))
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private')
      .header('accept-ranges', 'bytes')
      .header('etag', `"${file.sha256}"`)
    if (range) {
      reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', range.end - range.start + 1)
    } else {
      reply.header('content-length', size)
    }
    return reply.send(stream)
  })

  r.delete('/api/v1/files/:id', {
    config: { auth: { permission: 'files:write' } },
    schema: { tags, summary: 'Delete a file', params: IdParams }
  }, async (request, reply) => {
    const file = await deps.files.delete(request.principal!, request.params.id)
    await deps.audit(request, 'file.deleted', 204, { fileId: file.id })
    return reply.code(204).send()
  })
}
