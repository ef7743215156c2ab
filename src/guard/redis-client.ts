import type { FastifyBaseLogger } from 'fastify'
import { Redis } from 'ioredis'

export interface WatchedRedis {
  client: Redis
  /** True from the first failure until Redis answers again. */
  isDown: () => boolean
  close: () => void
}

/**
 * A Redis connection for shared counters that must never take the API down with them.
 * Commands fail fast (no offline queue, short timeouts) instead of stalling requests, so
 * the caller can answer from memory meanwhile; the outage is logged once when it starts
 * and once when Redis is back, never per request or per reconnection attempt.
 */
export function watchedRedis (url: string, log: FastifyBaseLogger, messages: { down: string, up: string }): WatchedRedis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    connectTimeout: 1000,
    commandTimeout: 500,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000)
  })
  let down = false
  let closed = false
  const lost = (error?: Error) => {
    if (down || closed) return
    down = true
    log.warn({ err: error }, messages.down)
  }
  client.on('error', lost)
  client.on('close', () => lost())
  client.on('ready', () => {
    if (!down) return
    down = false
    log.info(messages.up)
  })
  return {
    client,
    isDown: () => down || client.status !== 'ready',
    close () {
      closed = true // a deliberate disconnect is not an outage to report
      client.disconnect()
    }
  }
}
