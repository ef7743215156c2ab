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
import { memoryStore, redisStore, type Budget, type Outcome, type RateLimitStore } from './rate-limit.store.ts'
import type { RequestStage } from '../http/request-stages.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A stricter budget on top of the per-key request limit. */
    rateLimit?: RouteLimit
  }
  interface FastifyRequest {
    /** The budget closest to running out of those this request spent: what its RateLimit headers say. */
    rateLimitShown?: LimitState
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
 * Rate limits. The per-key limit is a stage for the caller to run in onRequest between
 * identification and authorization (before the body is read): the key is the identified
 * API key or user, and a request whose credentials failed is counted by address before it
 * is answered 401, so a flood of guessed keys is limited like anything else. A route's
 * stricter limit (`config.rateLimit`) is checked in that route's preValidation, added here
 * (register this before the routes), where the sign-in email is known and after
 * authorization, so a refused upload costs no upload budget. Undefined when rate limiting
 * is off.
 */
export function registerRateLimit (app: FastifyInstance, deps: RateLimitDeps): RequestStage | undefined {
  const limits = deps.config.rateLimit
  if (!limits.enabled) return undefined
  const store = deps.config.redisUrl ? redisStore(deps.config.redisUrl, app.log, deps.keyPrefix) : memoryStore()
  const budget = budgets(limits, store)
  app.decorateRequest('rateLimitShown', undefined)
  app.addHook('onClose', () => store.close())

  // Synchronous while the store answers at once (memory): no promise for an allowed request.
  function spend (request: FastifyRequest, reply: FastifyReply, limit: LimitName, from: Budget, key: string, subject: Subject, detail?: Record<string, unknown>): void | Promise<void> {
    const outcome = from.consume(key)
    if (outcome instanceof Promise) return outcome.then((settled) => judge(request, reply, limit, settled, key, subject, detail))
    return judge(request, reply, limit, outcome, key, subject, detail)
  }

  function judge (request: FastifyRequest, reply: FastifyReply, limit: LimitName, outcome: Outcome, key: string, subject: Subject, detail: Record<string, unknown> = {}): void | Promise<void> {
    const state = tighter(request.rateLimitShown, outcome)
    request.rateLimitShown = state
    if (outcome.allowed) {
      reply.headers(rateLimitHeaders(state))
      return
    }
    return refuse(request, limit, outcome, key, subject, detail)
  }

  async function refuse (request: FastifyRequest, limit: LimitName, outcome: Outcome, key: string, subject: Subject, detail: Record<string, unknown>) {
    deps.metrics?.rateLimitHit(limit)
    await deps.refusals.record({ action: 'rate_limit.exceeded', subject: key, reason: limit },
      requestRecord(request, 'rate_limit.exceeded', 429, { limit, keyKind: key.slice(0, key.indexOf(':')), tier: subject.tier, ...detail }))
    throw new HttpProblem(429, 'Too Many Requests', refusal(limit, subject, outcome, limits.windowSec), {
      headers: { 'retry-after': String(retryAfterSeconds(outcome.resetMs)), ...rateLimitHeaders(outcome) },
      extra: { limit }
    })
  }

  const routeLimitHook = (routeLimit: RouteLimit) => async (request: FastifyRequest, reply: FastifyReply) => {
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
  }
  // On the routes that declare a stricter budget only, first among their preValidation
  // hooks: every other request skips it.
  app.addHook('onRoute', (route) => {
    const routeLimit = route.config?.rateLimit
    if (routeLimit) route.preValidation = [routeLimitHook(routeLimit), ...[route.preValidation ?? []].flat()]
  })

  return (request, reply) => {
    if (isExempt(request.routeOptions.url, request.routeOptions.config.auth, request.headers)) return
    const subject = rateLimitSubject(request.principal, request.ip)
    if (!subject) return
    return spend(request, reply, 'requests', budget.requests[subject.tier], subject.key, subject)
  }
}
