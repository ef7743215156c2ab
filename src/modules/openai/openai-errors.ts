import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { problemParts } from '../../http/error-handler.ts'

/**
 * OpenAI's error body, `{error: {message, type, param, code}}`, which its SDKs parse into
 * typed exceptions. The status and message are Tympan's own (same rules: 5xx say nothing).
 */
export function openAiErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const problem = problemParts(error, request)
  const type = problem.status === 401 ? 'authentication_error'
    : problem.status === 403 ? 'permission_error'
      : problem.status === 429 ? 'rate_limit_error'
        : problem.status >= 500 ? 'server_error' : 'invalid_request_error'
  // Job params are OpenAI's top-level form fields: `params.language` is `language` here.
  const field = typeof problem.extra.field === 'string' ? problem.extra.field.replace(/^params\./, '') : null
  reply.headers(problem.headers)
  return reply.code(problem.status).type('application/json; charset=utf-8').send({
    error: { message: problem.detail, type, param: field, code: typeof problem.extra.code === 'string' ? problem.extra.code : null },
    requestId: request.id
  })
}
