import type { FastifyBaseLogger } from 'fastify'
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { LimitState } from './rate-limit.policy.ts'
import { watchedRedis } from './redis-client.ts'

export interface BudgetSpec {
  /** Part of the counter key: budgets with the same name share counters across processes. */
  name: string
  points: number
  durationSec: number
  /** A reserve spent only once `points` are used up, refilled over its own, longer window. */
  burst?: { points: number, durationSec: number }
}

export type Outcome = LimitState & { allowed: boolean }

export interface Budget {
  /** In memory the answer is immediate; in Redis it takes a round trip. */
  consume: (key: string) => Outcome | Promise<Outcome>
}

export interface RateLimitStore {
  backend: 'memory' | 'redis'
  budget: (spec: BudgetSpec) => Budget
  close: () => Promise<void>
}

type Counter = (keyPrefix: string, points: number, durationSec: number) => RateLimiterAbstract

function budgetOn (counter: Counter, prefix: string, spec: BudgetSpec): Budget {
  const main = counter(`${prefix}:${spec.name}`, spec.points, spec.durationSec)
  const limiter = spec.burst && spec.burst.points > 0
    ? new BurstyRateLimiter(main, counter(`${prefix}:${spec.name}:burst`, spec.burst.points, spec.burst.durationSec))
    : main
  const state = (res: RateLimiterRes) => ({ limit: spec.points, remaining: res.remainingPoints, resetMs: res.msBeforeNext })
  return {
    async consume (key) {
      try {
        return { allowed: true, ...state(await limiter.consume(key)) }
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return { allowed: false, ...state(rejection) }
        throw rejection
      }
    }
  }
}

const memoryCounter: Counter = (keyPrefix, points, duration) => new RateLimiterMemory({ keyPrefix, points, duration })

interface Window { consumed: number, resetAt: number }

/**
 * One budget's fixed windows in this process. Written here rather than taken from
 * rate-limiter-flexible's RateLimiterMemory because that answers every request through a
 * promise (and a result object, and a timer per window); the counting is the same: a key's
 * window opens at its first point and lasts durationSec, a point beyond `points` is refused
 * and still counted, and a burst reserve is spent only once the main budget is, answering
 * as BurstyRateLimiter does (rate-limit.store.test.ts runs both side by side).
 */
function memoryWindows (durationSec: number) {
  const durationMs = durationSec * 1000
  // Two generations of windows: those opened since the last turn, and those opened in the
  // one before, which have all ended by the next turn (a turn comes durationMs or more after
  // the last). A turn drops the older map whole: no request walks the expired windows, and
  // memory stays bounded by the keys seen in two windows.
  let current = new Map<string, Window>()
  let previous = new Map<string, Window>()
  let turnAt = 0
  let lastOpened = 0
  // Once the last window of the older generation has ended, it is not looked in.
  let previousEnd = 0
  return (key: string, now: number): Window => {
    if (now >= turnAt) {
      previous = current
      previousEnd = lastOpened + durationMs
      current = new Map()
      turnAt = now + durationMs
    }
    let window = current.get(key)
    if (window === undefined && now < previousEnd) window = previous.get(key)
    if (window === undefined || window.resetAt <= now) {
      window = { consumed: 0, resetAt: now + durationMs }
      current.set(key, window)
      lastOpened = now
    }
    window.consumed++
    return window
  }
}

function memoryBudget (spec: BudgetSpec): Budget {
  const main = memoryWindows(spec.durationSec)
  const burst = spec.burst && spec.burst.points > 0 ? { points: spec.burst.points, count: memoryWindows(spec.burst.durationSec) } : undefined
  return {
    consume (key) {
      const now = Date.now()
      const window = main(key, now)
      const remaining = Math.max(spec.points - window.consumed, 0)
      if (window.consumed <= spec.points) return { allowed: true, limit: spec.points, remaining, resetMs: window.resetAt - now }
      if (!burst) return { allowed: false, limit: spec.points, remaining, resetMs: window.resetAt - now }
      const reserve = burst.count(key, now)
      return { allowed: reserve.consumed <= burst.points, limit: spec.points, remaining, resetMs: Math.min(window.resetAt, reserve.resetAt) - now }
    }
  }
}

/** Counters in this process only: right for one server. */
export function memoryStore (): RateLimitStore {
  return { backend: 'memory', budget: memoryBudget, close: async () => {} }
}

/**
 * Counters in Redis, shared by every server process. Rate limiting must never take the API
 * down with it: while Redis is unreachable each limiter answers from its own memory
 * counters (the library's insurance limiter), so the budget is per process for that time.
 */
export function redisStore (url: string, log: FastifyBaseLogger, prefix = 'tympan:rl'): RateLimitStore {
  const redis = watchedRedis(url, log, {
    down: 'Redis is unreachable: rate limits fall back to per-process memory counters until it is back',
    up: 'Redis is reachable again: rate limits use the shared counters'
  })
  const client = redis.client

  const counter: Counter = (keyPrefix, points, duration) => new RateLimiterRedis({
    storeClient: client,
    keyPrefix,
    points,
    duration,
    rejectIfRedisNotReady: true,
    insuranceLimiter: memoryCounter(keyPrefix, points, duration),
    // A key that is over its budget is refused from memory until the window ends: a flood
    // from one client costs no Redis round trips.
    inMemoryBlockOnConsumed: points + 1
  })
  return {
    backend: 'redis',
    budget: (spec) => budgetOn(counter, prefix, spec),
    async close () { redis.close() }
  }
}
