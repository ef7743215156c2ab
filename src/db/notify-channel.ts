import { randomUUID } from 'node:crypto'
import pg from 'pg'
import type { FastifyBaseLogger } from 'fastify'
import type { Db } from './database.ts'

const RECONNECT_MS = 1000

/**
 * One PostgreSQL NOTIFY channel shared by every Tympan process. Subscribers in the publishing
 * process run synchronously inside publish(); other processes hear it over a dedicated LISTEN
 * connection within milliseconds. `undefined` reaches subscribers when the listener
 * (re)connects: notifications may have been missed, so anything may have changed. PGlite lives
 * in one process only, so there the local call is the whole story.
 */
export interface NotifyChannel {
  publish: (payload: string) => Promise<void>
  subscribe: (listener: (payload: string | undefined) => void) => () => void
  close: () => Promise<void>
}

export function notifyChannel (db: Db, channel: string, log?: FastifyBaseLogger): NotifyChannel {
  if (!/^[a-z_]+$/.test(channel)) throw new Error(`invalid channel name ${channel}`)
  const listeners = new Set<(payload: string | undefined) => void>()
  // Our own notifications come back over LISTEN too; the prefix lets us skip them.
  const origin = `${randomUUID()}:`
  const deliver = (payload: string | undefined) => { for (const listener of listeners) listener(payload) }
  let client: pg.Client | undefined
  let closed = false
  let timer: NodeJS.Timeout | undefined

  const retry = (next: pg.Client, error: unknown, what: string) => {
    log?.warn({ err: error, channel }, `${what}; reconnecting`)
    next.end().catch(() => {})
    if (!closed) timer = setTimeout(() => { connect().catch(() => {}) }, RECONNECT_MS)
  }

  async function connect () {
    if (closed || !db.connectionString) return
    const next = new pg.Client({ connectionString: db.connectionString })
    next.on('notification', (message) => {
      const payload = message.payload ?? ''
      if (!payload.startsWith(origin)) deliver(payload.slice(payload.indexOf(':') + 1))
    })
    next.on('error', (error) => {
      deliver(undefined)
      retry(next, error, 'notification listener lost its connection')
    })
    try {
      await next.connect()
      await next.query(`LISTEN ${channel}`)
      client = next
      deliver(undefined)
    } catch (error) {
      retry(next, error, 'notification listener could not connect')
    }
  }
  const ready = connect()

  return {
    async publish (payload) {
      deliver(payload)
      if (db.backend === 'postgres') await db.pool!.query('SELECT pg_notify($1, $2)', [channel, origin + payload])
    },
    subscribe (listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    async close () {
      closed = true
      clearTimeout(timer)
      await ready
      await client?.end().catch(() => {})
    }
  }
}
