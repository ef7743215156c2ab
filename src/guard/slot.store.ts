import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { watchedRedis } from './redis-client.ts'

/**
 * Slots: a bounded number of long-lived things (event streams) open at once per key. A
 * holder takes one slot in each of its keys, all or none, and gives them back when it ends;
 * every slot also has a deadline (the longest the holder may live), so a slot whose holder
 * vanished without a word (its process died) frees itself then.
 */
export interface SlotClaim {
  key: string
  limit: number
}

export type SlotGrant =
  | { ok: true, release: () => void }
  /** `refused` is the index of the first claim at its limit. */
  | { ok: false, refused: number, retryAfterMs: number }

export interface SlotStore {
  backend: 'memory' | 'redis'
  /** `lifeMs`: the holder ends within this long; a refusal says how long until the soonest slot of the full key frees. */
  acquire: (claims: readonly SlotClaim[], lifeMs: number) => Promise<SlotGrant>
  open: (key: string) => Promise<number>
  /** True while the slots are counted where every process sees them (Redis answers). */
  shared: () => boolean
  close: () => Promise<void>
}

/** The counting itself, in this process, with the clock passed in: the pure core, and Redis's stand-in. */
export function slotCounter () {
  // key → the deadlines of the holders of a slot there.
  const slots = new Map<string, Set<{ until: number }>>()
  const live = (key: string, now: number) => {
    const held = slots.get(key)
    if (!held) return undefined
    for (const slot of held) if (slot.until <= now) held.delete(slot)
    if (held.size === 0) { slots.delete(key); return undefined }
    return held
  }
  return {
    acquire (claims: readonly SlotClaim[], until: number, now: number): SlotGrant {
      for (const [index, claim] of claims.entries()) {
        const held = live(claim.key, now)
        if (held && held.size >= claim.limit) {
          const soonest = Math.min(...[...held].map((slot) => slot.until))
          return { ok: false, refused: index, retryAfterMs: Math.max(0, soonest - now) }
        }
      }
      const slot = { until }
      const keys = claims.map((claim) => claim.key)
      for (const key of keys) {
        let held = slots.get(key)
        if (!held) slots.set(key, held = new Set())
        held.add(slot)
      }
      let released = false
      return {
        ok: true,
        release () {
          if (released) return
          released = true
          for (const key of keys) {
            const held = slots.get(key)
            held?.delete(slot)
            if (held?.size === 0) slots.delete(key)
          }
        }
      }
    },
    open: (key: string, now: number) => live(key, now)?.size ?? 0
  }
}

export function memorySlots (): SlotStore {
  const counter = slotCounter()
  return {
    backend: 'memory',
    acquire: async (claims, lifeMs) => { const now = Date.now(); return counter.acquire(claims, now + lifeMs, now) },
    open: async (key) => counter.open(key, Date.now()),
    shared: () => false,
    close: async () => {}
  }
}

// Atomic across every process: drop the expired slots, check each key against its limit,
// and take a slot in all of them or in none. Time is Redis's, so the API nodes' clocks need
// not agree. A key expires with its last slot, so idle keys leave nothing behind.
// KEYS: the slot sets; ARGV: lifeMs, slot id, then one limit per key.
// Returns {0, deadline} when granted, {index (1-based), ms until the soonest slot frees} when refused.
export const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
    local soonest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {i, tonumber(soonest[2]) - now}
  end
end
local deadline = now + tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, deadline, ARGV[2])
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', key, tonumber(last[2]) + 1000)
end
return {0, deadline}
`

/**
 * Slots in Redis, shared by every API node: per key a sorted set of slot ids scored by their
 * deadlines. While Redis is unreachable, slots are counted in this process's memory (so the
 * limit holds per node for that time), and given back where they were taken.
 */
export function redisSlots (url: string, log: FastifyBaseLogger, prefix = 'tympan:slots'): SlotStore {
  const redis = watchedRedis(url, log, {
    down: 'Redis is unreachable: event-stream limits fall back to per-process memory counts until it is back',
    up: 'Redis is reachable again: event-stream limits use the shared slots'
  })
  const memory = memorySlots()
  const keyOf = (key: string) => `${prefix}:${key}`

  return {
    backend: 'redis',
    async acquire (claims, lifeMs) {
      if (redis.isDown()) return memory.acquire(claims, lifeMs)
      const id = randomUUID()
      const keys = claims.map((claim) => keyOf(claim.key))
      let answer: [number, number]
      try {
        answer = await redis.client.eval(ACQUIRE_SCRIPT, keys.length, ...keys, lifeMs, id, ...claims.map((claim) => claim.limit)) as [number, number]
      } catch {
        return memory.acquire(claims, lifeMs)
      }
      const [refused, ms] = answer
      if (refused > 0) return { ok: false, refused: refused - 1, retryAfterMs: Math.max(0, ms) }
      let released = false
      return {
        ok: true,
        release () {
          if (released) return
          released = true
          // Unreachable now: the slot frees itself at its deadline.
          const pipeline = redis.client.multi()
          for (const key of keys) pipeline.zrem(key, id)
          pipeline.exec().catch(() => {})
        }
      }
    },
    async open (key) {
      if (redis.isDown()) return memory.open(key)
      try {
        return await redis.client.zcount(keyOf(key), `(${Date.now()}`, '+inf')
      } catch {
        return memory.open(key)
      }
    },
    shared: () => !redis.isDown(),
    async close () { redis.close() }
  }
}
