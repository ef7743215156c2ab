import type { FastifyServerOptions } from 'fastify'
import type { Config } from '../config/config.ts'
import { redactUrl } from './request-log.ts'

// Redaction is by path: pino copies nothing it was not asked to, and these are the places a
// credential can appear in what Tympan logs.
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password', '*.newPassword', '*.currentPassword', '*.token', '*.accessToken', '*.refreshToken', '*.csrfToken', '*.key', '*.secret',
  'password', 'token', 'accessToken', 'refreshToken', 'key', 'secret'
]

export function loggerOptions (config: Pick<Config, 'logLevel'>): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      req (request) {
        return {
          method: request.method,
          url: redactUrl(String(request.url)),
          remoteAddress: request.ip,
          userAgent: request.headers?.['user-agent']
        }
      }
    }
  }
}
