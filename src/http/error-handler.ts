import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpProblem } from './problem.ts'
import { methodMatcher } from '../guard/route-methods.ts'

const NEVER_ALLOWED = new Set(['TRACE', 'TRACK', 'CONNECT'])

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 408: 'Request Timeout', 409: 'Conflict', 413: 'Content Too Large', 415: 'Unsupported Media Type',
  422: 'Unprocessable Content', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 503: 'Service Unavailable'
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

/**
 * One place decides what a client may see. Client errors keep their message; anything that
 * reaches here as a 5xx is logged in full and answered with a generic text and the request id.
 */
/** `routes` lists every registered route; it is read once, at the first unmatched request. */
export function registerErrorHandling (app: FastifyInstance, routes: () => readonly { method: string, url: string }[]) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpProblem) {
      reply.headers(error.headers)
      return sendProblem(request, reply, error.status, error.message, error.extra, error.title)
    }
    if (error.validation) {
      const { detail, errors } = describeValidation(error)
      return sendProblem(request, reply, 422, detail, { errors })
    }
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        return sendProblem(request, reply, 415, 'Content-Type is not supported here; send application/json')
      }
      if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
        return sendProblem(request, reply, 400, 'The request body is not valid JSON')
      }
      return sendProblem(request, reply, status, error.message)
    }
    request.log.error({ err: error }, 'request failed')
    return sendProblem(request, reply, status >= 500 && status < 600 ? status : 500,
      'An unexpected error occurred. Quote the request id when reporting it.')
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
    return sendProblem(request, reply, 404, `No route matches ${request.method} on this path`)
  })
}
