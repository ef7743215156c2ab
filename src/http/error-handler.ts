import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { storageFailureKind } from '../storage/storage-errors.ts'
import { HttpProblem, unavailableMark } from './problem.ts'
import { methodMatcher } from './route-methods.ts'

const NEVER_ALLOWED = new Set(['TRACE', 'TRACK', 'CONNECT'])

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 408: 'Request Timeout', 409: 'Conflict', 413: 'Content Too Large', 415: 'Unsupported Media Type',
  422: 'Unprocessable Content', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 503: 'Service Unavailable', 507: 'Insufficient Storage'
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  requestId: string
  [extra: string]: unknown
}

export function sendProblem (request: FastifyRequest, reply: FastifyReply, status: number, detail: string, extra: Record<string, unknown> = {}, title?: string) {
  const body: Problem = {
    ...extra,
    type: 'about:blank',
    title: title ?? STATUS_TITLES[status] ?? 'Error',
    status,
    detail,
    requestId: request.id
  }
  return reply.code(status).type('application/problem+json; charset=utf-8').send(body)
}

function describeValidation (error: FastifyError): { detail: string, errors: { field: string, message: string }[] } {
  const errors = (error.validation ?? []).map((v) => {
    const params = v.params as Record<string, unknown>
    const base = `${error.validationContext ?? 'body'}${v.instancePath.replace(/\//g, '.')}`
    if (typeof params.additionalProperty === 'string') return { field: `${base}.${params.additionalProperty}`, message: 'is not an allowed field' }
    if (typeof params.missingProperty === 'string') return { field: `${base}.${params.missingProperty}`, message: 'is required' }
    return { field: base, message: v.message ?? 'is invalid' }
  })
  const first = errors[0]
  return { detail: first ? `${first.field} ${first.message}` : error.message, errors }
}

/** `routes` lists every registered route; it is read once, at the first unmatched request. */
export interface ProblemParts {
  status: number
  detail: string
  title?: string
  extra: Record<string, unknown>
  headers: Record<string, string>
}

/**
 * One place decides what a client may see. Client errors keep their message; anything that
 * reaches here as a 5xx is logged in full and answered with a generic text and the request id.
 * Pure apart from that log line, so other error shapes (the OpenAI-compatible API) reuse it.
 */
export function problemParts (error: FastifyError, request: FastifyRequest): ProblemParts {
  if (error instanceof HttpProblem) return { status: error.status, title: error.title, detail: error.message, extra: error.extra, headers: error.headers }
  const dependency = dependencyProblem(error, request.log)
  if (dependency) return dependency
  if (error.validation) {
    const { detail, errors } = describeValidation(error)
    return { status: 422, detail, extra: { errors, ...(errors[0] ? { field: errors[0].field } : {}) }, headers: {} }
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, detail: 'Content-Type is not supported here; send application/json', extra: {}, headers: {} }
    if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return { status: 400, detail: 'The request body is not valid JSON', extra: {}, headers: {} }
    return { status, detail: error.message, extra: {}, headers: {} }
  }
  request.log.error({ err: error }, 'request failed')
  return { status: status >= 500 && status < 600 ? status : 500, detail: 'An unexpected error occurred. Quote the request id when reporting it.', extra: {}, headers: {} }
}

/**
 * The answer when what failed is a dependency (the file storage, the database), not the
 * request: 503 or 507 with Retry-After, the cause in the log. Shared by the error handler and
 * the tus endpoint, which answers its own errors.
 */
export function dependencyProblem (error: unknown, log: FastifyBaseLogger): ProblemParts | undefined {
  const storage = storageProblem(error)
  if (storage) {
    log.error({ err: error }, storage.status === 507 ? 'local disk full' : 'file storage unavailable')
    return storage
  }
  const unavailable = unavailableMark(error)
  if (!unavailable) return undefined
  log.warn({ err: error }, `request failed: the ${unavailable.what} is unavailable`)
  const retry = String(Math.max(1, Math.ceil(unavailable.retryAfterSec)))
  return {
    status: 503,
    title: `${unavailable.what[0]!.toUpperCase()}${unavailable.what.slice(1)} unavailable`,
    detail: `The ${unavailable.what} is not reachable right now; retry in ${retry} s`,
    extra: {},
    headers: { 'retry-after': retry }
  }
}

/**
 * Pure: the answer to a failure of the file storage itself, or undefined. The driver's own
 * text stays in the log: it can name the bucket, the endpoint or a path.
 */
export function storageProblem (error: unknown): ProblemParts | undefined {
  switch (storageFailureKind(error)) {
    case 'unavailable': return { status: 503, title: 'Service Unavailable', detail: 'The file storage is unavailable; retry later', extra: {}, headers: { 'retry-after': '5' } }
    case 'full': return { status: 507, title: 'Insufficient Storage', detail: 'The server has no space left to store this; retry later', extra: {}, headers: { 'retry-after': '60' } }
    default: return undefined
  }
}

/** Answers an unmatched request itself (the web UI's page for a navigation), or returns undefined. */
export type NotFoundFallback = (request: FastifyRequest, reply: FastifyReply) => FastifyReply | Promise<FastifyReply> | undefined

/** `routes` lists every registered route; it is read once, at the first unmatched request. */
export function registerErrorHandling (app: FastifyInstance, routes: () => readonly { method: string, url: string }[], options: { fallback?: NotFoundFallback } = {}) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = problemParts(error, request)
    reply.headers(problem.headers)
    return sendProblem(request, reply, problem.status, problem.detail, problem.extra, problem.title)
  })

  let methodsFor: ((path: string) => string[]) | undefined
  app.setNotFoundHandler((request, reply) => {
    methodsFor ??= methodMatcher(routes())
    const path = request.url.split('?')[0] ?? ''
    const allowed = methodsFor(path)
    // TRACE echoes requests back (cross-site tracing); it is refused on every path.
    if (allowed.length > 0 || NEVER_ALLOWED.has(request.method)) {
      if (allowed.length > 0) reply.header('allow', allowed.join(', '))
      return sendProblem(request, reply, 405, `${request.method} is not allowed here`)
    }
    const answered = options.fallback?.(request, reply)
    if (answered) return answered
    return sendProblem(request, reply, 404, `No route matches ${request.method} on this path`)
  })
}
