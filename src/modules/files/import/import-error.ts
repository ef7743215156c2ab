export type ImportErrorCode =
  | 'invalid_url'
  | 'scheme'
  | 'port'
  | 'address'
  | 'redirects'
  | 'timeout'
  | 'too_large'
  | 'http_status'
  | 'network'
  | 'unreachable'
  | 'media_disabled'
  | 'media_tool_missing'

/**
 * A refused or failed import. `message` goes to the client as the problem detail, so it names
 * at most the host and the reason: never a resolved IP, a socket error or a tool's output.
 * Those go in `cause`, for the log.
 */
export class ImportError extends Error {
  override name = 'ImportError'
  readonly code: ImportErrorCode

  constructor (code: ImportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}
