import type { FastifyRequest, FastifyServerOptions } from 'fastify'
import pino, { type Logger, type LoggerOptions } from 'pino'
import type { Config } from '../config/config.ts'
import { openLogFile, writtenOut } from './log-file.ts'
import { redactUrl } from './request-log.ts'

// Redaction is by path: pino copies nothing it was not asked to, and these are the places a
// credential can appear in what Tympan logs.
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password', '*.newPassword', '*.currentPassword', '*.token', '*.accessToken', '*.refreshToken', '*.csrfToken', '*.key', '*.secret',
  'password', 'token', 'accessToken', 'refreshToken', 'key', 'secret'
]

export function pinoOptions (config: Pick<Config, 'logLevel'>): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      req (request: FastifyRequest) {
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

/** The same options for a logger Fastify builds itself (tests hand it a stream to inspect). */
export const loggerOptions = (config: Pick<Config, 'logLevel'>): FastifyServerOptions['logger'] => pinoOptions(config) as FastifyServerOptions['logger']

export interface Logging {
  logger: Logger
  /** Resolves once every line logged so far is written: call it last before exiting. */
  flush: () => Promise<void>
  /** Flushes and closes the log file (stdout stays open). */
  close: () => Promise<void>
}

/**
 * The logger of `tympan serve` and `tympan worker`: JSON lines on stdout, and in LOG_FILE too
 * when it is set, redacted alike (redaction happens before either output sees the line). Both
 * outputs are asynchronous: a line costs the request a copy into a buffer, and the write(2)
 * happens off its path, batched under load. On exit the rest is written synchronously (pino
 * registers that for stdout, the log file for itself); a SIGKILL loses at most the write under way.
 */
export async function openLogging (config: Pick<Config, 'logLevel' | 'logs'>, stdout = pino.destination({ dest: 1, sync: false })): Promise<Logging> {
  const options = pinoOptions(config)
  const target = config.logs.file
  if (!target) {
    const flush = () => writtenOut(stdout)
    return { logger: pino(options, stdout), flush, close: flush }
  }
  // The log file's own failures (disk full, a directory gone) go to stdout only.
  const problems = pino({ level: 'warn' }, stdout)
  const file = await openLogFile({ ...config.logs, file: target }, (error, message) => { problems.error({ err: error }, message) })
  // Each output takes every line the logger's level lets through.
  const logger = pino(options, pino.multistream([{ level: 'trace', stream: stdout }, { level: 'trace', stream: file.stream }]))
  return {
    logger,
    flush: async () => { await Promise.all([writtenOut(stdout), file.flush()]) },
    close: async () => { await Promise.all([writtenOut(stdout), file.close()]) }
  }
}
