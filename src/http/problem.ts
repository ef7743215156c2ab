/**
 * A client-visible failure, rendered as RFC 9457 problem+json by the error handler.
 * `detail` is shown to the client, so it must never hold secrets or internals.
 */
export class HttpProblem extends Error {
  override name = 'HttpProblem'
  readonly status: number
  readonly title: string
  readonly extra: Record<string, unknown>
  readonly headers: Record<string, string>

  constructor (status: number, title: string, detail: string, options: { extra?: Record<string, unknown>, headers?: Record<string, string> } = {}) {
    super(detail)
    this.status = status
    this.title = title
    this.extra = options.extra ?? {}
    this.headers = options.headers ?? {}
  }
}

export const badRequest = (detail: string, extra?: Record<string, unknown>) => new HttpProblem(400, 'Bad Request', detail, { extra })
export const unauthorized = (detail: string) =>
  new HttpProblem(401, 'Unauthorized', detail, { headers: { 'www-authenticate': 'Bearer realm="tympan"' } })
export const forbidden = (detail: string) => new HttpProblem(403, 'Forbidden', detail)
export const notFound = (what: string) => new HttpProblem(404, 'Not Found', `${what} was not found`)
export const conflict = (detail: string) => new HttpProblem(409, 'Conflict', detail)
export const unprocessable = (detail: string, extra?: Record<string, unknown>) => new HttpProblem(422, 'Unprocessable Content', detail, { extra })
export const tooManyRequests = (detail: string, retryAfterSec: number) =>
  new HttpProblem(429, 'Too Many Requests', detail, { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSec))) } })

/**
 * A dependency that is down for now (the database, an object store). Lower layers mark their
 * errors with this property instead of importing this file; the error handler answers them
 * 503 "<What> unavailable" with Retry-After, never the generic 500.
 */
export interface UnavailableMark {
  what: string
  retryAfterSec: number
}

export function unavailableMark (error: unknown): UnavailableMark | undefined {
  const mark = (error as { unavailable?: Partial<UnavailableMark> } | null)?.unavailable
  return mark && typeof mark.what === 'string' && typeof mark.retryAfterSec === 'number' ? { what: mark.what, retryAfterSec: mark.retryAfterSec } : undefined
}
