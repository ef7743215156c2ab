import assert from 'node:assert/strict'
import { text } from 'node:stream/consumers'
import { describe, it } from 'node:test'
import type { FastifyBaseLogger } from 'fastify'
import type { Job } from '../../db/schema.ts'
import { notFound } from '../../http/problem.ts'
import type { Principal } from '../../access/permissions.ts'
import { jobEventStreams, type JobEventStreamsDeps } from './jobs.event-stream.ts'
import { streamLimiter } from './jobs.stream-limit.ts'

const job = { id: 'job-1', status: 'running' } as Job
const principal = (extra: Partial<Principal> = {}): Principal => ({
  kind: 'session', userId: 'u1', user: {} as Principal['user'], role: 'member', tier: 'free', scopes: ['jobs:read'], viaCookie: true, ...extra
})
const log = { warn () {} } as unknown as FastifyBaseLogger
const userSlots = { bucket: 'user', id: 'u1' } as const

function streams (overrides: Partial<JobEventStreamsDeps> = {}) {
  const limiter = streamLimiter({ user: 5, address: 5, internal_key: 5 })
  const deps: JobEventStreamsDeps = {
    jobs: {
      events: async () => ({ job, events: [] }),
      eventsAfter: async () => ({ job, events: [] }),
      artifactsOf: async () => []
    },
    signals: { changed: { subscribe: () => () => {}, publish: async () => {}, close: async () => {} } },
    auth: { stillValid: async () => true },
    limiter,
    maxLifeMs: 60_000,
    keepAliveMs: 20,
    ...overrides
  }
  return { limiter, open: (p = principal()) => jobEventStreams(deps).open({ principal: p, ip: '192.0.2.1', jobId: job.id, afterId: 0, log }) }
}

const lastEvent = (body: string) => body.trim().split('\n\n').at(-1)

describe('jobEventStreams', () => {
  it('ends at the access token\'s expiry with token_expired, before its maximum life, and frees the slot', async () => {
    const { limiter, open } = streams()
    const started = Date.now()
    const body = await text(await open(principal({ tokenExpiresAt: new Date(Date.now() + 150) })))
    assert.ok(Date.now() - started < 5000)
    assert.equal(lastEvent(body), 'event: error\ndata: {"reason":"token_expired"}')
    assert.equal(await limiter.open(userSlots), 0)
  })

  it('ends at its maximum life without an error event', async () => {
    const { limiter, open } = streams({ maxLifeMs: 100 })
    const body = await text(await open())
    assert.doesNotMatch(body, /event: error/)
    assert.match(body, /^retry: \d+/)
    assert.equal(await limiter.open(userSlots), 0)
  })

  it('re-checks the credential on each beat and ends with credential_revoked once it fails', async () => {
    let checks = 0
    const { limiter, open } = streams({ auth: { stillValid: async () => ++checks < 3 } })
    const body = await text(await open())
    assert.equal(checks, 3)
    assert.equal(lastEvent(body), 'event: error\ndata: {"reason":"credential_revoked"}')
    assert.equal(await limiter.open(userSlots), 0)
  })

  it('re-checks at once, past the cache, when the revocation bus fires', async () => {
    let fire = () => {}
    const asked: unknown[] = []
    const { open } = streams({
      keepAliveMs: 60_000,
      revocations: { subscribe: (listener) => { fire = listener; return () => { fire = () => {} } } },
      auth: { stillValid: async (_p, _permission, options) => { asked.push(options); return false } }
    })
    const stream = await open()
    fire()
    assert.equal(lastEvent(await text(stream)), 'event: error\ndata: {"reason":"credential_revoked"}')
    assert.deepEqual(asked, [{ fresh: true }])
  })

  it('ends, and frees the slot, when the re-check itself fails or the client goes away', async () => {
    const failing = streams({ auth: { stillValid: async () => { throw new Error('database down') } } })
    assert.doesNotMatch(await text(await failing.open()), /event: error/)
    assert.equal(await failing.limiter.open(userSlots), 0)

    const { limiter, open } = streams()
    const stream = await open()
    assert.equal(await limiter.open(userSlots), 1)
    stream.destroy()
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(await limiter.open(userSlots), 0)
  })

  it('holds no slot when the job is not the caller\'s', async () => {
    const { limiter, open } = streams({ jobs: { events: async () => { throw notFound('Job') }, eventsAfter: async () => ({ job, events: [] }), artifactsOf: async () => [] } })
    await assert.rejects(open(), /Job was not found/)
    assert.equal(await limiter.open(userSlots), 0)
  })
})
