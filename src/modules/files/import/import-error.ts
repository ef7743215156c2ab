import { rejectedFor, type UploadRejectionReason } from '../../../observability/metrics.ts'

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

// How each refusal is counted; every other code is `import_other`.
const REJECTION_REASONS: Partial<Record<ImportErrorCode, UploadRejectionReason>> = {
  address: 'import_address',
  timeout: 'import_timeout',
  too_large: 'size'
}

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
    rejectedFor(REJECTION_REASONS[code] ?? 'import_other', this)
  }
}
