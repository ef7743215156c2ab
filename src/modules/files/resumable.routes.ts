import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import path from 'node:path'
import { ERRORS, Server, type Upload } from '@tus/server'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import type { Config } from '../../config/config.ts'
import { rejectedFor, type Metrics } from '../../guard/metrics.ts'
import { HttpProblem } from '../../http/problem.ts'
import type { Storage } from '../../storage/storage.ts'
import type { Principal } from '../auth/permissions.ts'
import { PUBLIC } from '../auth/permissions.ts'
import { toPublicFile, type FilesService } from './files.service.ts'
import { describeStaged } from './staging.ts'
import type { HashingFileStore } from './resumable-store.ts'

export const RESUMABLE_PATH = '/api/v1/uploads'

export interface ResumableDeps {
  config: Config
  files: FilesService
  storage: Storage
  audit: RequestAuditor
  metrics: Pick<Metrics, 'uploadRefused'>
  /** The one tus data store of this process (shared with the retention sweeper). */
  store: () => Promise<HashingFileStore>
}

/** tus hooks report failures by throwing `{status_code, body}`; ours carry a problem document. */
function tusError (problem: HttpProblem, requestId: string) {
  return {
    status_code: problem.status,
    body: JSON.stringify({ type: 'about:blank', title: problem.title, status: problem.status, detail: problem.message, requestId, ...problem.extra })
  }
}

/**
 * tus 1.0 resumable uploads (@tus/server) for large files over unreliable networks. The
 * protocol handling is the library's; Tympan adds authentication (the app's onRequest hook
 * has run before any byte reaches tus), ownership of each upload (stored server-side in its
 * metadata, so another user's upload answers 404), the per-user size/quota cap, and at
 * completion exactly the checks and the record of a multipart upload.
 */
export async function resumableRoutes (app: FastifyInstance, deps: ResumableDeps) {
  const datastore = await deps.store()
  const directory = datastore.directory
  const contexts = new WeakMap<IncomingMessage, { principal: Principal, request: FastifyRequest }>()

  // srvx (tus's request wrapper) keeps the Node request at runtime.node.req.
  const contextOf = (req: object) => {
    const node = (req as { runtime?: { node?: { req: IncomingMessage } } }).runtime?.node?.req
    const context = node && contexts.get(node)
    if (!context) throw new Error('resumable upload request without an authenticated context')
    return context
  }
  const notFound = (requestId: string) => tusError(new HttpProblem(404, 'Not Found', 'Upload was not found'), requestId)

  const tus = new Server({
    path: RESUMABLE_PATH,
    datastore,
    relativeLocation: true,
    respectForwardedHeaders: false,
    // Without this tus answers `Access-Control-Allow-Origin: *`.
    allowedOrigins: (origin) => deps.config.corsOrigins.includes(origin),
    namingFunction: () => randomUUID(),
    maxSize: async (req) => (await deps.files.uploadAllowance(contextOf(req).principal)).maxBytes,
    async onUploadCreate (req, upload) {
      const { principal, request } = contextOf(req)
      const name = upload.metadata?.filename ?? upload.metadata?.name ?? ''
      try {
        deps.files.formatForName(name)
        const allowance = await deps.files.uploadAllowance(principal)
        if (upload.size !== undefined && upload.size > allowance.maxBytes) throw deps.files.sizeProblem(allowance)
      } catch (error) {
        if (error instanceof HttpProblem) {
          deps.metrics.uploadRefused(error)
          throw tusError(error, request.id)
        }
        throw error
      }
      // Ownership is written by the server, over anything the client put in the metadata.
      return { metadata: { ...upload.metadata, filename: name, owner: principal.userId } }
    },
    // tus refuses a declared or sent size over maxSize itself, before our hooks: counted here
    // (as size or quota, like our own refusals). accept() counts the refusals at completion.
    async onResponseError (req, error) {
      if (error === ERRORS.ERR_MAX_SIZE_EXCEEDED || error === ERRORS.ERR_SIZE_EXCEEDED) {
        // Counting must never break the answer: without the allowance, count it as size.
        const allowance = await deps.files.uploadAllowance(contextOf(req).principal).catch(() => undefined)
        deps.metrics.uploadRefused(allowance ? deps.files.sizeProblem(allowance) : rejectedFor('size', new Error('tus size limit')))
      }
      return undefined
    },
    async onIncomingRequest (req, id) {
      const { principal, request } = contextOf(req)
      // tus calls this for the creating POST too, with the id it is about to assign.
      if (request.method === 'POST') return
      let upload: Upload
      try {
        upload = await datastore.getUpload(id)
      } catch {
        throw notFound(request.id)
      }
      if (upload.metadata?.owner !== principal.userId) throw notFound(request.id)
    },
    async onUploadFinish (req, upload) {
      const { principal, request } = contextOf(req)
      try {
        const digest = upload.size !== undefined ? datastore.takeDigest(upload.id, upload.size) : undefined
        const stagedPath = await deps.storage.adopt(path.join(directory, upload.id))
        const staged = digest ? { path: stagedPath, size: upload.size as number, sha256: digest } : await describeStaged(stagedPath)
        // The data file has moved to staging; drop tus's record of it.
        await datastore.configstore.delete(upload.id)
        const file = await deps.files.accept(principal, staged, { name: upload.metadata?.filename ?? '', source: 'resumable' })
        await deps.audit(request, 'file.uploaded', 201, { fileId: file.id, size: Number(file.size), format: file.format, resumable: true })
        return {
          status_code: 200,
          headers: { 'content-type': 'application/json; charset=utf-8', 'tympan-file-id': file.id },
          body: JSON.stringify(toPublicFile(file))
        }
      } catch (error) {
        if (error instanceof HttpProblem) throw tusError(error, request.id)
        throw error
      }
    }
  })

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    contexts.set(request.raw, { principal: request.principal!, request })
    // tus writes the response itself; what Fastify would have added must be set on the raw reply.
    // Everything the app's hooks put on the reply (request id, security and rate-limit headers).
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) reply.raw.setHeader(name, value)
    reply.raw.setHeader('cache-control', 'no-store')
    reply.hijack()
    await tus.handle(request.raw, reply.raw)
  }

  app.register(async (scope) => {
    // The body of a PATCH is read by tus from the raw request, not by Fastify.
    scope.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) => done(null))
    const auth = { permission: 'files:write' } as const
    const hide = { hide: true }
    scope.post(RESUMABLE_PATH, { config: { auth, rateLimit: 'uploads' }, schema: { ...hide } }, handle)
    for (const method of ['HEAD', 'PATCH', 'DELETE'] as const) {
      scope.route({ method, url: `${RESUMABLE_PATH}/:id`, config: { auth }, schema: { ...hide }, handler: handle })
    }
    // Capability discovery (tus OPTIONS) reveals only the protocol version and limits.
    scope.options(RESUMABLE_PATH, { config: { auth: PUBLIC }, schema: { ...hide } }, async (_request, reply) => {
      return reply.code(204).header('tus-resumable', '1.0.0').header('tus-version', '1.0.0')
        .header('tus-extension', 'creation,creation-with-upload,termination,expiration')
        .header('tus-max-size', String(deps.config.intake.maxFileBytes)).send()
    })
  })
}
