import type { FastifyBaseLogger } from 'fastify'
import type { AuditRecord } from './audit.repository.ts'

/** What makes two refusals "the same one again". */
export interface RefusalKey {
  /** The audit action, e.g. `authz.denied`. */
  action: string
  /** Who was refused: `api_key:…`, `user:…` or `ip:…` (IPv6 by /64). */
  subject: string
  /** Why, and on what when that matters: the spent budget, the route and missing permission. */
  reason: string
}

interface Tracked {
  key: RefusalKey
  /** The first refusal of the window, written; its context goes into the summary row. */
  first: AuditRecord
  suppressed: number
}

const WINDOW_MS = 60_000
// A flood of distinct subjects (a botnet, an IPv6 client walking its /48) must not grow the
// tracking without limit: past this many keys in a window, new ones are only counted per action.
export const MAX_TRACKED = 10_000

export interface AggregatedAuditDeps {
  write: (record: AuditRecord) => Promise<void>
  log: FastifyBaseLogger
  now?: () => number
  maxTracked?: number
}

/**
 * Audits refusals a client can repeat at will without letting their repetition flood the
 * audit table: per action, subject and reason, the first refusal of each minute is written
 * with its request's context and the rest are only counted. When the minute is over (checked
 * on the next refusal and by a timer, and at shutdown), each count is logged and written as
 * one `<action>.suppressed` row, so the database keeps how many there were:
 * detail `{ ...first detail, subject, suppressed, from, to }`.
 * Once `maxTracked` keys are tracked in a minute, refusals of further keys are not written
 * at all but counted per action, and summarised the same way with `subject: "*"`.
 * Per process: N servers write at most N rows per key and minute.
 */
export function aggregatedAuditor (deps: AggregatedAuditDeps) {
  const now = deps.now ?? Date.now
  const maxTracked = deps.maxTracked ?? MAX_TRACKED
  const windowOf = (ms: number) => Math.floor(ms / WINDOW_MS)
  let window = windowOf(now())
  let tracked = new Map<string, Tracked>()
  let untracked = new Map<string, Tracked>()
  let pending: Promise<void> = Promise.resolve()

  async function summarise (entries: Tracked[], from: number) {
    const range = { from: new Date(from * WINDOW_MS).toISOString(), to: new Date((from + 1) * WINDOW_MS).toISOString() }
    for (const { key, first, suppressed } of entries) {
      if (suppressed === 0) continue
      deps.log.warn({ action: key.action, subject: key.subject, reason: key.reason, suppressed, ...range },
        'repeated refusals counted, not audited one by one (one audit row per subject, reason and minute)')
      await deps.write({ ...first, requestId: null, action: `${key.action}.suppressed`, detail: { ...first.detail, subject: key.subject, suppressed, ...range } })
    }
  }

  /** Closes the current window: its counts are written in the background, in order. */
  function rotate (to: number) {
    const entries = [...tracked.values(), ...untracked.values()]
    const from = window
    window = to
    tracked = new Map()
    untracked = new Map()
    if (entries.length === 0) return
    pending = pending.then(() => summarise(entries, from))
      .catch((error: unknown) => { deps.log.error({ err: error }, 'writing the counts of repeated refusals failed') })
  }

  const timer = setInterval(() => {
    const current = windowOf(now())
    if (current !== window) rotate(current)
  }, WINDOW_MS)
  timer.unref()

  return {
    /** Writes `record` if it is the first refusal of its key this minute; otherwise counts it. */
    async record (key: RefusalKey, record: AuditRecord): Promise<void> {
      const current = windowOf(now())
      if (current !== window) rotate(current)
      const id = `${key.action}\u0000${key.subject}\u0000${key.reason}`
      const seen = tracked.get(id)
      if (seen) {
        seen.suppressed++
        return
      }
      if (tracked.size >= maxTracked) {
        const overflow = untracked.get(key.action)
        if (overflow) overflow.suppressed++
        else untracked.set(key.action, { key: { ...key, subject: '*' }, first: { ...record, actorUserId: null, actorKeyId: null, ip: null }, suppressed: 1 })
        return
      }
      tracked.set(id, { key, first: record, suppressed: 0 })
      await deps.write(record)
    },
    /** The number of keys tracked in the current window. */
    get size () {
      return tracked.size + untracked.size
    },
    /** Writes the counts still pending (server shutdown) and stops the timer. */
    async flush (): Promise<void> {
      clearInterval(timer)
      rotate(window)
      await pending
    }
  }
}

export type AggregatedAuditor = ReturnType<typeof aggregatedAuditor>
