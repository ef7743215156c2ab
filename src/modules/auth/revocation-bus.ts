import { randomUUID } from 'node:crypto'
import pg from 'pg'
import type { FastifyBaseLogger } from 'fastify'
import type { Db } from '../../db/database.ts'

const CHANNEL = 'tympan_auth_changed'
const RECONNECT_MS = 1000

/**
 * Tells every Tympan process that credentials changed (a key revoked, a session ended, a user
 * disabled), so each can drop its authentication cache. Subscribers in this process run
 * synchronously inside publish(), so the very next request here sees the change. Other
 * processes hear it through PostgreSQL LISTEN/NOTIFY within milliseconds; a process whose
 * listening connection drops clears its cache and reconnects. PGlite lives in one process
 * only, so there the local call is the whole story.
 */
export interface RevocationBus {
  publish: () => Promise<void>
  subscribe: (listener: () => void) => void
  close: () => Promise<void>
}

export function revocationBus (db: Db, log?: FastifyBaseLogger): RevocationBus {
  const listeners: (() => void)[] = []
  const origin = randomUUID()
  const notifyAll = () => { for (const listener of listeners) listener() }
  let client: pg.Client | undefined
  let closed = false
  let timer: NodeJS.Timeout | undefined

  async function connect () {
    if (closed || !db.connectionString) return
    const next = new pg.Client({ connectionString: db.connectionString })
    next.on('notification', (message) => { if (message.payload !== origin) notifyAll() })
    next.on('error', (error) => {
      log?.warn({ err: error }, 'revocation listener lost its connection; reconnecting')
      notifyAll()
      next.end().catch(() => {})
      if (!closed) timer = setTimeout(() => { connect().catch(() => {}) }, RECONNECT_MS)
    })
    try {
      await next.connect()
      await next.query(`LISTEN ${CHANNEL}`)
      client = next
      // Anything may have changed while no one was listening.
      notifyAll()
    } catch (error) {
      log?.warn({ err: error }, 'revocation listener could not connect; retrying')
      next.end().catch(() => {})
      if (!closed) timer = setTimeout(() => { connect().catch(() => {}) }, RECONNECT_MS)
    }
  }
  const ready = connect()

  return {
    async publish () {
      notifyAll()
      if (db.backend === 'postgres') await db.pool!.query('SELECT pg_notify($1, $2)', [CHANNEL, origin])
    },
    subscribe (listener) { listeners.push(listener) },
    async close () {
      closed = true
      clearTimeout(timer)
      await ready
      await client?.end().catch(() => {})
    }
  }
}
