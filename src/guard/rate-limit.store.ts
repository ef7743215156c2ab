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

export interface Budget {
  consume: (key: string) => Promise<LimitState & { allowed: boolean }>
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

/** Counters in this process only: right for one server, or as Redis's stand-in. */
export function memoryStore (prefix = 'tympan:rl'): RateLimitStore {
  return { backend: 'memory', budget: (spec) => budgetOn(memoryCounter, prefix, spec), close: async () => {} }
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
