import type { FastifyBaseLogger } from 'fastify'
import type { Db } from '../../db/database.ts'
import { notifyChannel } from '../../db/notify-channel.ts'

/**
 * Tells every Tympan process that credentials changed (a key revoked, a session ended, a user
 * disabled), so each can drop its authentication cache. The very next request in the
 * publishing process sees the change; other processes within milliseconds. A process whose
 * listener drops clears its cache too, since it may have missed a revocation.
 */
export interface RevocationBus {
  publish: () => Promise<void>
  /** Returns the unsubscribe function. */
  subscribe: (listener: () => void) => () => void
  close: () => Promise<void>
}

export function revocationBus (db: Db, log?: FastifyBaseLogger): RevocationBus {
  const channel = notifyChannel(db, 'tympan_auth_changed', log)
  return {
    publish: () => channel.publish(''),
    subscribe: (listener) => channel.subscribe(() => { listener() }),
    close: () => channel.close()
  }
}
