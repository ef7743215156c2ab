import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AggregatedAuditor } from '../audit/aggregated-audit.ts'
import { requestRecord } from '../audit/request-audit.ts'
import type { Config } from '../config/config.ts'
import type { Tier } from '../db/schema.ts'
import { HttpProblem } from '../http/problem.ts'
import { TIERS } from '../access/permissions.ts'
import {
  accountKey, addressKey, isExempt, rateLimitHeaders, rateLimitSubject, retryAfterSeconds, tighter,
  type LimitName, type LimitState, type RouteLimit, type Subject
} from './rate-limit.policy.ts'
import { memoryStore, redisStore, type Budget, type RateLimitStore } from './rate-limit.store.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A stricter budget on top of the per-key request limit. */
    rateLimit?: RouteLimit
  }
}

// The burst reserve refills over this many windows: a client may exceed its steady rate
// now and then, not every window (that would just be a higher limit).
export const BURST_REFILL_WINDOWS = 10
const MINUTE = 60

export interface RateLimitDeps {
  config: Config
  /** Violations are audited through it: one row per counter key, budget and minute. */
  refusals: AggregatedAuditor
  /** Prefix of the counter keys (in Redis: shared by the processes that use the same one). */
  keyPrefix?: string
  /** Told of each 429 and the budget that ran out (the app's metrics, which sit above this folder). */
  metrics?: { rateLimitHit (limit: LimitName): void }
}

function budgets (limits: Config['rateLimit'], store: RateLimitStore) {
  const perTier = (make: (tier: Tier) => Budget) => Object.fromEntries(TIERS.map((tier) => [tier, make(tier)])) as Record<Tier, Budget>
  return {
    requests: perTier((tier) => store.budget({
      name: 'requests',
      points: limits.requests[tier],
      durationSec: limits.windowSec,
      burst: { points: limits.burst, durationSec: limits.windowSec * BURST_REFILL_WINDOWS }
    })),
    uploads: perTier((tier) => store.budget({ name: 'uploads', points: limits.uploadsPerMinute[tier], durationSec: MINUTE })),
    loginIp: store.budget({ name: 'login_ip', points: limits.loginPerIpPerMinute, durationSec: MINUTE }),
    loginAccount: store.budget({ name: 'login_account', points: limits.loginPerAccountPerMinute, durationSec: MINUTE })
  }
}

const WHOSE: Record<Subject['kind'], string> = { api_key: 'this API key', user: 'this account', ip: 'this address' }

function refusal (limit: LimitName, subject: Subject, state: LimitState, windowSec: number): string {
  const retry = `Retry in ${retryAfterSeconds(state.resetMs)} s.`
  switch (limit) {
    case 'requests': return `Rate limit exceeded: ${state.limit} requests per ${windowSec} s for ${WHOSE[subject.kind]}. ${retry}`
    case 'uploads': return `Upload limit exceeded: ${state.limit} uploads per minute on the ${subject.tier} tier. ${retry}`
    case 'login_ip': return `Too many sign-in attempts from this address. ${retry}`
    case 'login_account': return `Too many sign-in attempts for this account from this address. ${retry}`
  }
}

/**
 * Rate limits. Register between identification and authorization: the key is the
 * identified API key or user, and a request whose credentials failed is counted by address
 * before it is answered 401, so a flood of guessed keys is limited like anything else.
 * The per-key limit is checked in onRequest (before the body is read); a route's stricter
 * limit (`config.rateLimit`) in preValidation, where the sign-in email is known and after
 * authorization, so a refused upload costs no upload budget.
 */
export function registerRateLimit (app: FastifyInstance, deps: RateLimitDeps) {
  const limits = deps.config.rateLimit
  if (!limits.enabled) return
  const store = deps.config.redisUrl ? redisStore(deps.config.redisUrl, app.log, deps.keyPrefix) : memoryStore(deps.keyPrefix)
  const budget = budgets(limits, store)
  const shown = new WeakMap<FastifyRequest, LimitState>()
  app.addHook('onClose', () => store.close())

  async function spend (request: FastifyRequest, reply: FastifyReply, limit: LimitName, from: Budget, key: string, subject: Subject, detail: Record<string, unknown> = {}) {
    const outcome = await from.consume(key)
    const state = tighter(shown.get(request), outcome)
    shown.set(request, state)
    if (outcome.allowed) {
      reply.headers(rateLimitHeaders(state))
      return
    }
    deps.metrics?.rateLimitHit(limit)
    await deps.refusals.record({ action: 'rate_limit.exceeded', subject: key, reason: limit },
      requestRecord(request, 'rate_limit.exceeded', 429, { limit, keyKind: key.slice(0, key.indexOf(':')), tier: subject.tier, ...detail }))
    throw new HttpProblem(429, 'Too Many Requests', refusal(limit, subject, outcome, limits.windowSec), {
      headers: { 'retry-after': String(retryAfterSeconds(outcome.resetMs)), ...rateLimitHeaders(outcome) },
      extra: { limit }
    })
  }

  app.addHook('onRequest', async (request, reply) => {
    if (isExempt(request.routeOptions.url, request.routeOptions.config.auth, request.headers)) return
    const subject = rateLimitSubject(request.principal, request.ip)
    if (!subject) return
    await spend(request, reply, 'requests', budget.requests[subject.tier], subject.key, subject)
  })

  app.addHook('preValidation', async (request, reply) => {
    const routeLimit = request.routeOptions.config.rateLimit
    if (!routeLimit) return
    const subject = rateLimitSubject(request.principal, request.ip)
    if (!subject) return
    if (routeLimit === 'uploads') {
      await spend(request, reply, 'uploads', budget.uploads[subject.tier], subject.key, subject)
      return
    }
    // Sign-in: counted before the password is checked, per address and per account from that
    // address. Another address keeps its own budgets, so guesses never lock the owner out.
    await spend(request, reply, 'login_ip', budget.loginIp, `ip:${addressKey(request.ip)}`, subject)
    const email = (request.body as { email?: unknown } | undefined)?.email
    if (typeof email === 'string' && email.trim()) {
      await spend(request, reply, 'login_account', budget.loginAccount, accountKey(email, request.ip), subject, { email: email.trim() })
    }
  })
}
