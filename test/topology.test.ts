import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { buildApp } from '../src/app.ts'
import { openDatabase, type Db } from '../src/db/database.ts'
import { redisSlots, type SlotStore } from '../src/guard/slot.store.ts'
import { startApp, type TestApp } from './helpers/app.ts'
import { fixture } from './helpers/audio.ts'
import { backends } from './helpers/db.ts'
import { createJob, keyHeaders, parseSse, uploadFile, type SseEvent } from './helpers/jobs.ts'
import { redisProblem, startRedis, type Service } from './helpers/services.ts'

// Several API nodes on one PostgreSQL and one Redis (docs/topology.md): each node here is its
// own app with its own connection pool, as a second process would be.

const SHARED_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const JOB_SCOPES = ['files:read', 'files:write', 'jobs:read', 'jobs:write']
const silent = { warn () {}, info () {} } as unknown as FastifyBaseLogger

async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

interface LiveStream {
  status: number
  events: () => SseEvent[]
  ended: Promise<void>
  close: () => void
}

/** One event stream over a real connection, read as it arrives. */
async function openStream (base: string, jobId: string, headers: Record<string, string>): Promise<LiveStream> {
  const abort = new AbortController()
  const res = await fetch(`${base}/api/v1/jobs/${jobId}/events`, { headers, signal: abort.signal })
  if (res.status !== 200) {
    await res.arrayBuffer()
    return { status: res.status, events: () => [], ended: Promise.resolve(), close: () => {} }
  }
  let text = ''
  const decoder = new TextDecoder()
  const ended = (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true })
    } catch { /* aborted by close() */ }
  })()
  return { status: res.status, events: () => parseSse(text.slice(0, text.lastIndexOf('\n\n') + 2)), ended, close: () => { abort.abort() } }
}

interface Node {
  app: FastifyInstance
  base: string
  /** Log lines, when the node was asked to keep them. */
  lines: string[]
}

/** A second API node beside `t`: the same configuration and schema, its own pool. */
async function node (t: TestApp, prefix: string, keepLog = false): Promise<Node & { db: Db }> {
  const db = await openDatabase({ databaseUrl: t.testDb.databaseUrl, ...(t.testDb.schema ? { schema: t.testDb.schema } : {}) })
  const lines: string[] = []
  const app = await buildApp({
    config: t.config,
    db,
    rateLimitKeyPrefix: prefix,
    ...(keepLog ? { logger: { level: 'info', stream: { write: (line: string) => { lines.push(line) } } } as never } : {})
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, db, lines, base: baseOf(app) }
}

const baseOf = (app: FastifyInstance) => `http://127.0.0.1:${(app.server.address() as { port: number }).port}`

const redisReachable = await redisProblem(SHARED_REDIS)
const postgres = (await backends()).find((b) => b.name === 'postgres')!
const skipShared = postgres.skip || (redisReachable && `Redis not reachable at ${SHARED_REDIS}: ${redisReachable}`)

describe('event-stream slots in Redis', { skip: redisReachable && `Redis not reachable at ${SHARED_REDIS}: ${redisReachable}` }, () => {
  const prefix = `tympan-test:${randomBytes(6).toString('hex')}`
  const stores: SlotStore[] = []
  const store = async () => {
    const s = redisSlots(SHARED_REDIS, silent, prefix)
    stores.push(s)
    await until('the store to connect', () => s.shared())
    return s
  }
  after(async () => {
    const redis = new Redis(SHARED_REDIS)
    const keys = await redis.keys(`${prefix}:*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
    for (const s of stores) await s.close()
  })

  it('grants exactly the limit when two processes race for the same key, and the slots of all keys or none', async () => {
    const [a, b] = [await store(), await store()]
    const claims = [{ key: 'user:race', limit: 3 }, { key: 'address:race', limit: 100 }]
    const grants = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).acquire(claims, 60_000)))
    assert.equal(grants.filter((g) => g.ok).length, 3)
    for (const refusal of grants.filter((g) => !g.ok)) {
      assert.equal(refusal.refused, 0, 'refused on the user key')
      assert.ok(refusal.retryAfterMs > 0 && refusal.retryAfterMs <= 60_000, String(refusal.retryAfterMs))
    }
    assert.equal(await a.open('address:race'), 3, 'a refused claim took no slot in the other key')
    for (const g of grants) if (g.ok) g.release()
    await until('the slots to come back', async () => await b.open('user:race') === 0)
    assert.equal(await b.open('address:race'), 0)
  })

  it('frees a slot whose holder never gives it back (its node died) at its deadline', async () => {
    const a = await store()
    const claims = [{ key: 'user:dead', limit: 1 }]
    assert.ok((await a.acquire(claims, 300)).ok)
    const refused = await a.acquire(claims, 60_000)
    assert.ok(!refused.ok)
    assert.ok(refused.retryAfterMs <= 300, String(refused.retryAfterMs))
    await until('the abandoned slot to expire', async () => (await a.acquire(claims, 60_000)).ok)
  })
})

describe('two API nodes on one PostgreSQL and one Redis', { skip: skipShared }, () => {
  const prefix = `tympan-test:${randomBytes(6).toString('hex')}`
  let t: TestApp
  let a: Node
  let b: Node & { db: Db }
  const opened: LiveStream[] = []
  const open = async (on: Node, jobId: string, headers: Record<string, string>) => {
    const stream = await openStream(on.base, jobId, headers)
    opened.push(stream)
    return stream
  }

  before(async () => {
    // No workers at first: the jobs wait, and the streams on them stay open.
    t = await startApp('postgres', { REDIS_URL: SHARED_REDIS, EVENT_STREAMS_PER_USER: '2', WORKER_CONCURRENCY: '0' }, undefined, { rateLimitKeyPrefix: prefix })
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    a = { app: t.app, base: baseOf(t.app), lines: [] }
    b = await node(t, prefix)
  })
  after(async () => {
    for (const s of opened) s.close()
    await b?.app.close()
    await b?.db.close()
    await t?.close()
    const redis = new Redis(SHARED_REDIS)
    const keys = await redis.keys(`${prefix}:*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })

  const member = async () => {
    const user = await t.createUser('member')
    const key = await t.apiKey(await t.login(user.email), JOB_SCOPES)
    return { user, key }
  }

  it('holds the per-user event-stream cap across both nodes: 429 on B once A holds the cap, a slot freed on A serves B', async () => {
    const { user, key } = await member()
    const job = await createJob(b.app, key, { fileId: await uploadFile(b.app, key, fixture('wav')), type: 'analyze' })
    const onA = [await open(a, job.id, keyHeaders(key)), await open(a, job.id, keyHeaders(key))]
    assert.deepEqual(onA.map((s) => s.status), [200, 200])
    const redis = new Redis(SHARED_REDIS)
    assert.equal(await redis.zcard(`${prefix}:streams:user:${user.id}`), 2, 'the slots are in Redis')
    redis.disconnect()
    assert.equal((await open(b, job.id, keyHeaders(key))).status, 429)
    assert.equal((await open(a, job.id, keyHeaders(key))).status, 429)
    onA[0]!.close()
    await until('the slot freed on A to serve B', async () => {
      const s = await open(b, job.id, keyHeaders(key))
      return s.status === 200
    })
    assert.equal((await open(a, job.id, keyHeaders(key))).status, 429)
  })

  // Revocation (test/revocation.test.ts) and rate limits (test/rate-limit.test.ts) across
  // servers are tested where the rest of each lives.
  it('delivers the events of a job created on B and run by A\'s worker to a stream on B, ending with done', async () => {
    const { key } = await member()
    const job = await createJob(b.app, key, { fileId: await uploadFile(b.app, key, fixture('wav')), type: 'analyze' })
    const stream = await open(b, job.id, keyHeaders(key))
    assert.equal(stream.status, 200)
    await t.app.container.runner.start(1)
    await stream.ended
    const events = stream.events()
    assert.equal(events.at(-1)?.event, 'done', events.map((e) => e.event).join(' '))
    assert.equal((events.at(-1)!.data as { status: string }).status, 'succeeded')
  })
})

describe('Redis stopped under two API nodes', { skip: postgres.skip, timeout: 120_000 }, () => {
  let redis: Service
  let t: TestApp
  let a: Node
  let b: Node & { db: Db }
  const opened: LiveStream[] = []
  const open = async (on: Node, jobId: string, headers: Record<string, string>) => {
    const stream = await openStream(on.base, jobId, headers)
    opened.push(stream)
    return stream
  }

  before(async () => {
    redis = await startRedis()
    const lines: string[] = []
    t = await startApp('postgres', { REDIS_URL: redis.url, EVENT_STREAMS_PER_USER: '2', WORKER_CONCURRENCY: '0' },
      { level: 'info', stream: { write: (line: string) => { lines.push(line) } } })
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    a = { app: t.app, base: baseOf(t.app), lines }
    b = await node(t, 'tympan', true)
  })
  after(async () => {
    for (const s of opened) s.close()
    await b?.app.close()
    await b?.db.close()
    await t?.close()
    await redis?.close()
  })

  it('keeps serving on per-node memory counts while Redis is down, logs it once per node, and shares the slots again once it is back', async () => {
    const user = await t.createUser('member')
    const session = await t.login(user.email)
    const key = await t.apiKey(session, JOB_SCOPES)
    const job = await createJob(a.app, key, { fileId: await uploadFile(a.app, key, fixture('wav')), type: 'analyze' })
    const headers = keyHeaders(key)

    await redis.stop()
    // Each node counts its own: the cap holds per node, so a user may hold it on each.
    for (const on of [a, b]) {
      const statuses = [(await open(on, job.id, headers)).status, (await open(on, job.id, headers)).status, (await open(on, job.id, headers)).status]
      assert.deepEqual(statuses, [200, 200, 429])
    }
    // Requests that need no Redis at all go on, rate limits on memory counters.
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${b.base}/api/v1/me`, { headers })).status, 200)
    for (const on of [a, b]) {
      assert.equal(on.lines.filter((l) => l.includes('Event-stream slots cannot reach Redis')).length, 1, 'the outage is logged once')
    }

    for (const s of opened) s.close()
    await until('the memory slots to come back', async () => {
      const [onA, onB] = [await open(a, job.id, headers), await open(b, job.id, headers)]
      onA.close()
      onB.close()
      return onA.status === 200 && onB.status === 200
    })

    await redis.start()
    for (const on of [a, b]) await until('the node to use Redis again', () => on.lines.some((l) => l.includes('Event-stream slots are shared through Redis again')))
    const first = [await open(a, job.id, headers), await open(a, job.id, headers)]
    assert.deepEqual(first.map((s) => s.status), [200, 200])
    assert.equal((await open(b, job.id, headers)).status, 429, 'the cap holds across the nodes again')
  })
})
