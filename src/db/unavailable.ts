/**
 * Errors that mean "the database is not reachable right now" rather than "this query is
 * wrong": the server cannot be reached, it is shutting down or starting up, the connection
 * dropped or timed out. They are marked (not wrapped, so a caller that checks a PostgreSQL
 * code still sees it) with the shape src/http/problem.ts answers as 503 with Retry-After.
 */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  // PostgreSQL: admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, and class 08 (connection exception).
  '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006'
])
// node-postgres reports its own connection failures without a code.
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
  'Cannot use a pool after calling end on the pool'
]

export const DATABASE_RETRY_AFTER_SEC = 5

export function isConnectionError (error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true
  if (error instanceof AggregateError && error.errors.some(isConnectionError)) return true
  return CONNECTION_MESSAGES.some((message) => error.message.startsWith(message))
}

/** Marks a connection error as the database being unavailable, and returns what it was given. */
export function markUnavailable (error: unknown): unknown {
  if (isConnectionError(error)) Object.assign(error as Error, { unavailable: { what: 'database', retryAfterSec: DATABASE_RETRY_AFTER_SEC } })
  return error
}
