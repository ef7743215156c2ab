import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { routeLabel } from './request-context.ts'

/** Longest URL a log line carries; the rest is replaced by a marker saying how much was cut. */
export const MAX_LOGGED_URL = 2048
const MAX_LOGGED_USER_AGENT = 256

// A query parameter whose decoded, lower-cased name contains one of these is a credential
// (`api_key`, `access_token`, `X-Amz-Signature`, `sessionid`, `password`...).
const SENSITIVE_NAME_PARTS = ['key', 'token', 'passw', 'secret', 'auth', 'sig', 'session', 'cookie']

function decodedName (raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' ')).toLowerCase()
  } catch {
    return raw.toLowerCase()
  }
}

const isSensitive = (name: string): boolean => SENSITIVE_NAME_PARTS.some((part) => name.includes(part))

const cut = (text: string, max: number): string => text.length > max ? `${text.slice(0, max)}…[cut, ${text.length} characters]` : text

function redactQuery (url: string): string {
  const queryStart = url.indexOf('?')
  if (queryStart === -1) return url
  const parts = url.slice(queryStart + 1).split('&')
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string
    const equals = part.indexOf('=')
    if (equals !== -1 && isSensitive(decodedName(part.slice(0, equals)))) parts[i] = `${part.slice(0, equals)}=[REDACTED]`
  }
  return `${url.slice(0, queryStart)}?${parts.join('&')}`
}

/**
 * Pure: the URL as it may be logged, the value of every credential-named query parameter
 * replaced by [REDACTED], at most MAX_LOGGED_URL characters (marked when cut, with the length
 * sent). One pass over the query, no regular expression: the URL is the first thing an
 * anonymous caller controls, and this runs on every request before any guard. Only the first
 * MAX_LOGGED_URL characters are read, so the work is bounded whatever was sent: a parameter
 * cut in its name has lost its value, one cut in its value still has its name.
 */
export function redactUrl (url: string): string {
  const redacted = redactQuery(url.slice(0, MAX_LOGGED_URL))
  return url.length > MAX_LOGGED_URL || redacted.length > MAX_LOGGED_URL
    ? `${redacted.slice(0, MAX_LOGGED_URL)}…[cut, ${url.length} characters]`
    : redacted
}

/** The fields of the one line logged per request (docs/security.md, "Audit trail"). */
export interface RequestLine {
  /** The request id (X-Request-Id), the field every other line of the request carries too. */
  reqId: string
  method: string
  /** The route pattern, `unmatched` when no route matched: never the raw path. */
  route: string
  url: string
  status: number
  durationMs: number
  userId: string | null
  /** The non-secret key id (`tym_…` or `internal:<hash prefix>`), null for sessions and anonymous calls. */
  keyId: string | null
  auth: 'session' | 'api_key' | 'internal' | 'dev' | 'none'
  ip: string
  userAgent: string | null
  /** From Content-Length; null when the body was streamed without one. */
  bytes: number | null
}

/** Pure: what is known about a request once its response has ended. */
export function requestLine (request: FastifyRequest, reply: FastifyReply): RequestLine {
  const principal = request.principal
  const userAgent = request.headers['user-agent']
  const length = Number(reply.getHeader('content-length') ?? reply.raw.getHeader('content-length'))
  return {
    reqId: request.id,
    method: request.method,
    route: routeLabel(request),
    url: redactUrl(request.url),
    status: reply.statusCode,
    durationMs: Math.round(reply.elapsedTime * 10) / 10,
    userId: principal?.userId ?? null,
    keyId: principal?.keyId ?? null,
    auth: principal?.kind ?? 'none',
    ip: request.ip,
    userAgent: userAgent === undefined ? null : cut(userAgent, MAX_LOGGED_USER_AGENT),
    bytes: Number.isSafeInteger(length) ? length : null
  }
}

type LogArgs = [unknown, ...unknown[]]
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1]

// One non-redacting child per parent logger, for the request line only (see requestCompleted).
const unredacted = new WeakMap<FastifyBaseLogger, FastifyBaseLogger>()

/**
 * request.log, with its pino child made on first use. Fastify makes a child per request (to
 * bind reqId), and with the redaction paths configured pino runs every bound value through
 * the redactor: ~4 µs a request measured alone, for a logger that most requests
 * never use (their one line is written by the controller below, without it). The child, once
 * made, is exactly the one Fastify would have made.
 */
class RequestLogger {
  readonly parent: FastifyBaseLogger
  readonly #bindings: Record<string, unknown>
  readonly #options: ChildOptions
  #child: FastifyBaseLogger | undefined

  constructor (parent: FastifyBaseLogger, bindings: Record<string, unknown>, options: ChildOptions) {
    this.parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  get #log (): FastifyBaseLogger {
    return (this.#child ??= this.parent.child(this.#bindings, this.#options))
  }

  get level (): string { return this.#child?.level ?? this.#options?.level ?? this.parent.level }
  set level (level: string) { this.#log.level = level }
  fatal (...args: LogArgs) { (this.#log.fatal as (...a: LogArgs) => void)(...args) }
  error (...args: LogArgs) { (this.#log.error as (...a: LogArgs) => void)(...args) }
  warn (...args: LogArgs) { (this.#log.warn as (...a: LogArgs) => void)(...args) }
  info (...args: LogArgs) { (this.#log.info as (...a: LogArgs) => void)(...args) }
  debug (...args: LogArgs) { (this.#log.debug as (...a: LogArgs) => void)(...args) }
  trace (...args: LogArgs) { (this.#log.trace as (...a: LogArgs) => void)(...args) }
  silent (...args: LogArgs) { (this.#log.silent as (...a: LogArgs) => void)(...args) }
  child (bindings: Record<string, unknown>, options?: ChildOptions): FastifyBaseLogger { return this.#log.child(bindings, options) }
}

const childLoggerFactory: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  new RequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger

/**
 * Fastify's per-request logging, replaced: no "incoming request" line, and at completion one
 * line, msg "request", holding who called what and how it ended. Fastify calls
 * requestCompleted once per request when the response has been written (hijacked replies
 * such as tus included, and requests refused by a hook: 401, 429, 413, 503), after the
 * onResponse hooks, so the principal is known. The other lines Fastify writes (stream
 * errors, failed writeHead) stay as they are, through request.log, which binds reqId.
 */
class RequestLogController extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = requestLine(request, reply)
    // The line carries reqId itself, so it goes to the request logger's parent: the same JSON
    // as through the child, whose only binding is reqId.
    const parent = (request.log as unknown as RequestLogger).parent
    if (error) {
      parent.warn({ ...line, err: error }, 'request')
      return
    }
    // Without redaction: every field is made by requestLine from what may be logged (the URL
    // through redactUrl, ids that are not secrets), none is named like a redacted path, and
    // redaction cost ~40 µs a line measured alone (pino runs each value through the wildcard paths).
    let plain = unredacted.get(parent)
    if (!plain) {
      plain = parent.child({}, { redact: [] })
      unredacted.set(parent, plain)
    }
    plain.info(line, 'request')
  }
}

/** Fastify options for the request logging above: the controller relies on the factory. */
export const requestLogging = () => ({ logController: new RequestLogController(), childLoggerFactory })
