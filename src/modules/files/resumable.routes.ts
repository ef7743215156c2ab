import { AsyncLocalStorage } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import { ERRORS, EVENTS, Server } from '@tus/server'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import type { Config } from '../../config/config.ts'
import { rejectedFor, type Metrics } from '../../observability/metrics.ts'
import { HttpProblem } from '../../http/problem.ts'
import { dependencyProblem } from '../../http/error-handler.ts'
import type { Principal } from '../../access/permissions.ts'
import { PUBLIC } from '../../access/permissions.ts'
import { contentTooLarge, toPublicFile, type FilesService } from './files.service.ts'
import type { ResumableService } from './resumable.service.ts'
import type { ResumableStore } from './resumable-store.ts'

export const RESUMABLE_PATH = '/api/v1/uploads'

const PROBLEM_TYPE = 'application/problem+json; charset=utf-8'
const UNEXPECTED = 'An unexpected error occurred. Quote the request id when reporting it.'
// How often a PATCH that is still streaming marks its upload active: far below the shortest
// idle limit (1 minute), so the sweeper never takes an upload while its bytes arrive.
const ACTIVITY_INTERVAL_MS = 15_000

export interface ResumableDeps {
  config: Config
  files: FilesService
  resumable: ResumableService
  audit: RequestAuditor
  metrics: Pick<Metrics, 'uploadRefused'>
  /** The one tus data store of this process (shared with the retention sweeper). */
  store: () => Promise<ResumableStore>
}

interface RequestContext {
  principal: Principal
  request: FastifyRequest
  /** Set once the creating POST has reserved its upload: a later failure must undo it. */
  reserved?: string
  /** Set once an upload has become a file in this request; the store forgets it after. */
  finished?: string
  /** The headers of this request's error answer (Retry-After): tus itself sends only a status and a body. */
  errorHeaders?: Record<string, string>
}

const problemJson = (problem: HttpProblem, requestId: string | undefined) =>
  JSON.stringify({ type: 'about:blank', title: problem.title, status: problem.status, detail: problem.message, requestId, ...problem.extra })

interface TusAnswer {
  status_code: number
  body: string
  headers?: Record<string, string>
}

/** tus hooks report failures by throwing `{status_code, body}`; ours carry a problem document and its headers. */
function tusError (problem: HttpProblem, requestId: string): TusAnswer {
  return { status_code: problem.status, body: problemJson(problem, requestId), headers: problem.headers }
}

/** One of tus's own refusals (ERRORS.*) or ours: a status and a text meant for the client. */
const isAnswer = (error: unknown): error is TusAnswer =>
  typeof (error as { status_code?: unknown }).status_code === 'number' && typeof (error as { body?: unknown }).body === 'string'

/**
 * tus 1.0 resumable uploads (@tus/server) for large files over unreliable networks, wired to
 * Fastify. The protocol handling is the library's; authentication is the app's onRequest
 * hook (it has run before any byte reaches tus); ownership, the quota reservation and the
 * checks at completion are resumable.service.ts's. Every error answer is a problem
 * document; the text of an unexpected error goes to the log only.
 */
export async function resumableRoutes (app: FastifyInstance, deps: ResumableDeps) {
  const datastore = await deps.store()
  // The Fastify request a tus callback serves: tus runs inside requests.run() (handle below).
  const requests = new AsyncLocalStorage<RequestContext>()

  const contextOf = () => {
    const context = requests.getStore()
    if (!context) throw new Error('resumable upload request without an authenticated context')
    return context
  }
  const answerTo = (error: unknown, request: FastifyRequest): TusAnswer => {
    if (error === ERRORS.ERR_SIZE_EXCEEDED) {
      const problem = rejectedFor('size', contentTooLarge("The request sends more bytes than the upload's declared Upload-Length"))
      deps.metrics.uploadRefused(problem)
      return tusError(problem, request.id)
    }
    if (isAnswer(error)) return error
    const dependency = dependencyProblem(error, request.log)
    if (dependency) return tusError(new HttpProblem(dependency.status, dependency.title ?? 'Error', dependency.detail, { headers: dependency.headers }), request.id)
    // Anything else (a failing disk or database, a bug) would reach the client as tus's
    // "Something went wrong" followed by the error's message: paths, SQL. Log it instead.
    request.log.error({ err: error }, 'resumable upload failed')
    return tusError(new HttpProblem(500, 'Internal Server Error', UNEXPECTED), request.id)
  }
  const notFound = (requestId: string) => tusError(new HttpProblem(404, 'Not Found', 'Upload was not found'), requestId)

  /** tus writes its own refusals (a missing Tus-Resumable, a bad header) as one line of text. */
  class ProblemServer extends Server {
    override async write (...[context, headers, status, body = '']: Parameters<Server['write']>) {
      if (status < 400) return super.write(context, headers, status, body)
      headers.set('content-type', PROBLEM_TYPE)
      for (const [name, value] of Object.entries(requests.getStore()?.errorHeaders ?? {})) headers.set(name, value)
      // Answers from our hooks and onResponseError are problem documents already.
      const problem = body.startsWith('{') ? body : problemJson(new HttpProblem(status, STATUS_CODES[status] ?? 'Error', body.trim()), requests.getStore()?.request.id)
      return super.write(context, headers, status, problem)
    }
  }

  const tus = new ProblemServer({
    path: RESUMABLE_PATH,
    datastore,
    relativeLocation: true,
    respectForwardedHeaders: false,
    // Without this tus answers `Access-Control-Allow-Origin: *`.
    allowedOrigins: (origin) => deps.config.corsOrigins.includes(origin),
    namingFunction: () => randomUUID(),
    // No maxSize: the declared Upload-Length is judged (file cap, quota) at creation, and tus
    // then limits every PATCH body to it.
    postReceiveInterval: ACTIVITY_INTERVAL_MS,
    async onUploadCreate (_req, upload) {
      const context = contextOf()
      try {
        const metadata = await deps.resumable.create(context.principal, upload)
        context.reserved = upload.id
        return { metadata }
      } catch (error) {
        if (error instanceof HttpProblem) {
          deps.metrics.uploadRefused(error)
          throw tusError(error, context.request.id)
        }
        throw error
      }
    },
    async onResponseError (_req, error) {
      const context = contextOf()
      const { request, reserved } = context
      // The creating POST failed after its reservation (storage, or a refusal at completion
      // of a creation-with-upload): the client never got the URL, so nothing may stay.
      // If the store is what failed, its bytes may stay behind: the sweep's expiry takes them.
      if (reserved) {
        await deps.resumable.discard(reserved).catch((discardError: unknown) => request.log.error({ err: discardError, uploadId: reserved }, 'resumable upload: discarding a failed creation failed'))
      }
      const answer = answerTo(error, request)
      context.errorHeaders = answer.headers
      return answer
    },
    async onIncomingRequest (_req, id) {
      const { principal, request } = contextOf()
      // tus calls this for the creating POST too, with the id it is about to assign.
      if (request.method === 'POST') return
      if (!await deps.resumable.admit(principal, request.method, id)) throw notFound(request.id)
    },
    async onUploadFinish (_req, upload) {
      const context = contextOf()
      const { request } = context
      try {
        const file = await deps.resumable.finish(context.principal, upload)
        context.finished = upload.id
        await deps.audit(request, 'file.uploaded', 201, { fileId: file.id, size: Number(file.size), format: file.format, resumable: true })
        return {
          // A creation-with-upload is still a creation: 201, which also makes tus add the
          // Location header clients require of a creating POST.
          status_code: request.method === 'POST' ? 201 : 200,
          headers: { 'content-type': 'application/json; charset=utf-8', 'tympan-file-id': file.id },
          body: JSON.stringify(toPublicFile(file))
        }
      } catch (error) {
        if (error instanceof HttpProblem) throw tusError(error, request.id)
        throw error
      }
    }
  })
  // Fired while a PATCH streams (tus passes the body stream, not the request, despite its types).
  tus.on(EVENTS.POST_RECEIVE, (_body, upload) => {
    deps.resumable.touch(upload.id).catch((error: unknown) => app.log.error({ err: error, uploadId: upload.id }, 'resumable upload: marking activity failed'))
  })

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    // tus writes the response itself; what Fastify would have added must be set on the raw reply.
    // Everything the app's hooks put on the reply (request id, security and rate-limit headers).
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) reply.raw.setHeader(name, value)
    reply.raw.setHeader('cache-control', 'no-store')
    reply.hijack()
    const context: RequestContext = { principal: request.principal!, request }
    try {
      await requests.run(context, () => datastore.request(() => tus.handle(request.raw, reply.raw)))
    } finally {
      if (context.finished) await deps.resumable.forget(context.finished)
    }
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
