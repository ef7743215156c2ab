import type { FastifyReply, FastifyRequest } from 'fastify'
import { rejectedFor, type Metrics } from '../../guard/metrics.ts'
import { HttpProblem, badRequest, unprocessable } from '../../http/problem.ts'
import type { Storage } from '../../storage/storage.ts'
import type { Principal } from '../auth/permissions.ts'
import type { FilesService } from './files.service.ts'
import { stageStream, StagingLimitError, type Staged } from './staging.ts'

// Room for the multipart envelope around the file (boundaries, part headers, a few fields).
const MULTIPART_OVERHEAD = 64 * 1024
export const MAX_FIELDS = 8

export interface ReceivedUpload {
  staged: Staged
  name: string
  /** The text fields sent beside the file; a repeated name keeps every value, in order. */
  fields: Map<string, string[]>
}

export interface UploadDeps {
  files: FilesService
  storage: Storage
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

/**
 * Receives one audio file (field "file") and a few text fields from a multipart request,
 * streaming the file to a staged path within the principal's size allowance. Every refusal
 * is a counted 4xx problem and leaves nothing staged. The caller owns the staged file after.
 * Multipart must be registered in the caller's scope (@fastify/multipart).
 */
export async function receiveUpload (request: FastifyRequest, reply: FastifyReply, principal: Principal, deps: UploadDeps): Promise<ReceivedUpload> {
  const refuse = <E>(error: E): E => {
    deps.metrics.uploadRefused(error)
    return error
  }
  const allowance = await deps.files.uploadAllowance(principal)
  const declared = Number(request.headers['content-length'])
  if (Number.isFinite(declared) && declared > allowance.maxBytes + MULTIPART_OVERHEAD) {
    throw refuse(cutOff(reply, deps.files.sizeProblem(allowance)))
  }
  if (!request.isMultipart()) throw refuse(rejectedFor('multipart', new HttpProblem(415, 'Unsupported Media Type', 'Send the file as multipart/form-data in the field "file"')))

  let pending: { staged: Staged, name: string } | undefined
  const fields = new Map<string, string[]>()
  try {
    const parts = request.parts({
      limits: { files: 2, fields: MAX_FIELDS, parts: MAX_FIELDS + 2, fieldSize: 4096, fieldNameSize: 100, headerPairs: 100, fileSize: allowance.maxBytes + 1 }
    })
    for await (const part of parts) {
      if (part.type !== 'file') {
        fields.set(part.fieldname, [...(fields.get(part.fieldname) ?? []), String(part.value)])
        continue
      }
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
  return { ...pending, fields }
}
