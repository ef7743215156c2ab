import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { RequestAuditor } from '../audit/request-audit.ts'
import type { LimitName } from './rate-limit.policy.ts'

export interface Violation {
  limit: LimitName
  /** The counter key that ran out (`api_key:…`, `user:…`, `ip:…`, `account:…`). */
  key: string
  detail: Record<string, unknown>
}

const MINUTE_MS = 60_000

/**
 * Audits rate-limit violations without letting a flood of them flood the audit table: the
 * first violation of a budget by a key in a minute is written, the rest of that minute are
 * only counted, and the count is logged when the minute is over (or the server stops).
 * Per process: N servers write at most N rows per key and minute.
 */
export function violationAuditor (deps: { audit: RequestAuditor, log: FastifyBaseLogger, now?: () => number }) {
  const now = deps.now ?? Date.now
  const seen = new Map<string, { limit: LimitName, key: string, minute: number, suppressed: number }>()
  let sweptMinute = -1

  function sweep (minute: number) {
    for (const [id, entry] of seen) {
      if (entry.minute >= minute) continue
      if (entry.suppressed > 0) {
        deps.log.warn({ limit: entry.limit, key: entry.key, minute: new Date(entry.minute * MINUTE_MS).toISOString(), violations: entry.suppressed },
          'rate-limit violations counted but not audited (one audit row per key and minute)')
      }
      seen.delete(id)
    }
  }

  return {
    async record (request: FastifyRequest, violation: Violation): Promise<void> {
      const minute = Math.floor(now() / MINUTE_MS)
      if (minute !== sweptMinute) {
        sweep(minute)
        sweptMinute = minute
      }
      const id = `${violation.limit}\u0000${violation.key}`
      const entry = seen.get(id)
      if (entry) {
        entry.suppressed++
        return
      }
      seen.set(id, { limit: violation.limit, key: violation.key, minute, suppressed: 0 })
      await deps.audit(request, 'rate_limit.exceeded', 429, { limit: violation.limit, ...violation.detail })
    },
    /** Logs the counts still pending. */
    flush () {
      sweep(Number.POSITIVE_INFINITY)
    }
  }
}

export type ViolationAuditor = ReturnType<typeof violationAuditor>
