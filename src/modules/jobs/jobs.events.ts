import type { FastifyBaseLogger } from 'fastify'
import type { Db } from '../../db/database.ts'
import { notifyChannel, type NotifyChannel } from '../../db/notify-channel.ts'

/**
 * Two cross-process signals about jobs, each carrying a job id:
 * - `changed`: a job's record or events changed (SSE streams wake and read the new events);
 * - `cancel`: a job was canceled or deleted (the worker running it stops its engine at once).
 * The database stays the source of truth; these only say "look now". A listener reconnect
 * delivers `undefined`: look at everything.
 */
export interface JobSignals {
  changed: NotifyChannel
  cancel: NotifyChannel
  close: () => Promise<void>
}

export function jobSignals (db: Db, log?: FastifyBaseLogger): JobSignals {
  const changed = notifyChannel(db, 'tympan_job_changed', log)
  const cancel = notifyChannel(db, 'tympan_job_cancel', log)
  return {
    changed,
    cancel,
    async close () { await Promise.all([changed.close(), cancel.close()]) }
  }
}
