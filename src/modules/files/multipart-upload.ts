import type { IncomingMessage } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { rejectedFor, type Metrics } from '../../observability/metrics.ts'
import { HttpProblem, badRequest, unprocessable } from '../../http/problem.ts'
import type { Principal } from '../../access/permissions.ts'
import type { FilesService } from './files.service.ts'
import { StagingLimitError, type Staged } from './staging.ts'

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
  metrics: Pick<Metrics, 'uploadRefused'>
}

/**
 * Reads and discards what is left of the request body, at most `maxBytes` and `timeoutMs`;
 * true when the body ended within both.
 */
export function drainBody (raw: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<boolean> {
  if (raw.readableEnded) return Promise.resolve(true)
  if (raw.destroyed || maxBytes <= 0) return Promise.resolve(false)
  return new Promise((resolve) => {
    let seen = 0
    const done = (drained: boolean) => {
      clearTimeout(timer)
      raw.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onFail)
      if (!drained) raw.pause()
      resolve(drained)
    }
    const onData = (chunk: Buffer) => { seen += chunk.length; if (seen > maxBytes) done(false) }
    const onEnd = () => { done(true) }
    const onFail = () => { done(false) }
    const timer = setTimeout(onFail, timeoutMs)
    raw.on('data', onData).once('end', onEnd).once('error', onFail).once('close', onFail)
    // The multipart parser may still be attached; from here on the bytes go nowhere.
    raw.unpipe()
    raw.resume()
  })
}

/**
 * A refusal while the client is still sending. Browsers and fetch clients read no answer
 * until they have sent their body (a connection closed under them is a network error, not a
 * 413), so the rest is read and discarded first, within the drain bounds. Past those the
 * sending is stopped: `Connection: close` makes Node end the socket after the answer.
 */
async function refuseMidBody (request: FastifyRequest, reply: FastifyReply, bounds: { maxBytes: number, timeoutMs: number }, problem: HttpProblem): Promise<HttpProblem> {
  if (!await drainBody(request.raw, bounds.maxBytes, bounds.timeoutMs)) reply.header('connection', 'close')
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
  const drain = deps.files.uploadDrain
  const declared = Number(request.headers['content-length'])
  if (Number.isFinite(declared) && declared > allowance.maxBytes + MULTIPART_OVERHEAD) {
    // A declared length past the drain bound is not worth reading: refuse before the body.
    const bounds = declared > drain.maxBytes ? { ...drain, maxBytes: 0 } : drain
    throw refuse(await refuseMidBody(request, reply, bounds, deps.files.sizeProblem(allowance)))
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
      pending = { staged: await deps.files.stage(part.file, allowance.maxBytes), name: part.filename }
    }
  } catch (error) {
    if (pending) await deps.files.discard(pending.staged)
    if (error instanceof StagingLimitError) throw refuse(await refuseMidBody(request, reply, drain, deps.files.sizeProblem(allowance)))
    const problem = error instanceof HttpProblem ? error : multipartProblem(error)
    if (problem) throw refuse(await refuseMidBody(request, reply, drain, problem))
    throw error
  }
  if (!pending) throw refuse(rejectedFor('multipart', unprocessable('No file: send it as multipart/form-data in the field "file"', { field: 'file' })))
  return { ...pending, fields }
}
