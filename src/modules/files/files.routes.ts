import multipart from '@fastify/multipart'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { create as contentDisposition } from 'content-disposition'
import type { FastifyInstance, FastifyReply } from 'fastify'
import rangeParser from 'range-parser'
import Type from 'typebox'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import { rejectedFor, type Metrics } from '../../guard/metrics.ts'
import { HttpProblem, badRequest, unprocessable } from '../../http/problem.ts'
import { Cursor, DateTime, IdParams, Limit } from '../../http/schemas.ts'
import type { Storage } from '../../storage/storage.ts'
import { toPublicFile, type FilesService } from './files.service.ts'
import { stageStream, StagingLimitError, type Staged } from './staging.ts'

export const FileSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  format: Type.String(),
  contentType: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
  durationSec: Type.Number(),
  sampleRate: Type.Integer(),
  channels: Type.Integer(),
  codec: Type.String(),
  source: Type.String(),
  createdAt: DateTime,
  expiresAt: DateTime
})

// Room for the multipart envelope around the file (boundaries, part headers, a few fields).
const MULTIPART_OVERHEAD = 64 * 1024
const MAX_FIELDS = 4
const tags = ['files']

export interface FilesRoutesDeps {
  files: FilesService
  storage: Storage
  audit: RequestAuditor
  metrics: Pick<Metrics, 'uploadRefused'>
}

/**
 * A refusal while the client is still sending must also stop the sending: `Connection: close`
 * makes Node end the socket after the answer instead of draining hundreds of megabytes.
 */
function cutOff (reply: FastifyReply, problem: HttpProblem): HttpProblem {
  reply.header('connection', 'close')
  return problem
}

function multipartProblem (error: unknown): HttpProblem | undefined {
  const code = (error as { code?: string }).code
  switch (code) {
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
    case 'FST_FILES_LIMIT':
      return rejectedFor('multipart', new HttpProblem(413, 'Content Too Large', `Too many parts: send one file in the field "file" and at most ${MAX_FIELDS} other fields`))
    case 'FST_PROTO_VIOLATION':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return rejectedFor('multipart', badRequest('The request is not valid multipart/form-data'))
  }
  if (error instanceof Error && /Unexpected end of (form|multipart)|Malformed/i.test(error.message)) {
    return rejectedFor('multipart', badRequest('The multipart body ended early or is malformed'))
  }
  return undefined
}

export function filesRoutes (app: FastifyInstance, deps: FilesRoutesDeps) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>()
  // Refusals before accept() are counted here; accept() counts its own.
  const refuse = <E>(error: E): E => {
    deps.metrics.uploadRefused(error)
    return error
  }

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
      const allowance = await deps.files.uploadAllowance(principal)
      const declared = Number(request.headers['content-length'])
      if (Number.isFinite(declared) && declared > allowance.maxBytes + MULTIPART_OVERHEAD) {
        throw refuse(cutOff(reply, deps.files.sizeProblem(allowance)))
      }
      if (!request.isMultipart()) throw refuse(rejectedFor('multipart', new HttpProblem(415, 'Unsupported Media Type', 'Send the file as multipart/form-data in the field "file"')))

      let pending: { staged: Staged, name: string } | undefined
      try {
        const parts = request.parts({
          limits: { files: 2, fields: MAX_FIELDS, parts: MAX_FIELDS + 2, fieldSize: 1024, fieldNameSize: 100, headerPairs: 100, fileSize: allowance.maxBytes + 1 }
        })
        for await (const part of parts) {
          if (part.type !== 'file') continue
          if (pending) throw rejectedFor('multipart', badRequest('Send one file per request'))
          if (part.fieldname !== 'file') throw rejectedFor('multipart', unprocessable('The file must be sent in the field "file"', { field: 'file' }))
          deps.files.formatForName(part.filename)
          pending = { staged: await stageStream(deps.storage, part.file, allowance.maxBytes), name: part.filename }
        }
      } catch (error) {
        if (pending) await deps.storage.discard(pending.staged.path)
        if (error instanceof StagingLimitError) throw refuse(cutOff(reply, deps.files.sizeProblem(allowance)))
        const problem = error instanceof HttpProblem ? error : multipartProblem(error)
        if (problem) throw refuse(cutOff(reply, problem))
        throw error
      }
      if (!pending) throw refuse(rejectedFor('multipart', unprocessable('No file: send it as multipart/form-data in the field "file"', { field: 'file' })))

      const file = await deps.files.accept(principal, pending.staged, { name: pending.name, source: 'upload' })
      await deps.audit(request, 'file.uploaded', 201, { fileId: file.id, size: Number(file.size), format: file.format })
      return reply.code(201).send(toPublicFile(file))
    })
  })

  r.get('/api/v1/files', {
    config: { auth: { permission: 'files:read' } },
    schema: {
      tags,
      summary: 'Your files, newest first',
      querystring: Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(FileSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }) }
    }
  }, async (request) => {
    const page = await deps.files.list(request.principal!, request.query.limit ?? 50, request.query.cursor)
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
