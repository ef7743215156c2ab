// bench/queue: the job queue (pg-boss via src/modules/jobs/jobs.queue.ts) on PGlite and on
// PostgreSQL, each beside a baseline on the same database in the same run:
//   - enqueue rate: queue.send() one after another, against plain INSERTs into a table, in
//     alternating rounds so drift in machine load reaches both alike;
//   - pickup latency: from send() to the handler starting, for jobs sent 20 ms apart to an
//     idle worker, against a bare NOTIFY round trip (LISTEN/NOTIFY is what wakes workers).
// Aim: pickup p50 under 100 ms on PostgreSQL.
// Usage: node bench/queue/run.ts [--jobs N] [--rounds N] [--latency-jobs N]
import { randomBytes, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import pg from 'pg'
import pino from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import { openDatabase, quoteIdent, type Db } from '../../src/db/database.ts'
import { migrate } from '../../src/db/migrator.ts'
import { jobQueue } from '../../src/modules/jobs/jobs.queue.ts'
import { median, printTable } from '../lib/server.ts'

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '500' }, rounds: { type: 'string', default: '5' }, 'latency-jobs': { type: 'string', default: '100' } } })
const ROUNDS = Number(values.rounds)
const PER_ROUND = Math.ceil(Number(values.jobs) / ROUNDS)
const JOBS = PER_ROUND * ROUNDS
const LATENCY_JOBS = Number(values['latency-jobs'])
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const log = pino({ level: 'warn' }) as unknown as FastifyBaseLogger
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!

/** Calls per second of `count` calls of `call`, one after another. */
async function rate (count: number, call: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  for (let i = 0; i < count; i++) await call()
  return count / ((performance.now() - start) / 1000)
}

const sql = async <R>(db: Db, text: string, params?: unknown[]) => db.backend === 'pglite' ? (await db.pglite!.query<R>(text, params)).rows : (await db.pool!.query(text, params)).rows as R[]

async function notifyLatency (db: Db): Promise<number[]> {
  const latencies: number[] = []
  let sentAt = 0
  let received: () => void = () => {}
  const onMessage = () => { latencies.push(performance.now() - sentAt); received() }
  let stop: () => Promise<void>
  if (db.backend === 'pglite') {
    stop = await db.pglite!.listen('bench_baseline', onMessage)
  } else {
    const client = new pg.Client({ connectionString: db.connectionString })
    await client.connect()
    client.on('notification', onMessage)
    await client.query('LISTEN bench_baseline')
    stop = () => client.end()
  }
  for (let i = 0; i < LATENCY_JOBS; i++) {
    const got = new Promise<void>((resolve) => { received = resolve })
    sentAt = performance.now()
    await sql(db, "SELECT pg_notify('bench_baseline', 'x')")
    await got
    await pause(20)
  }
  await stop()
  return latencies
}

async function measure (label: string, db: Db, schema: string) {
  await migrate(db)
  const queue = jobQueue(db, { heartbeatSec: 30, retryLimit: 0, runningPerUser: { free: 100, premium: 100, enterprise: 100 }, schema }, log)
  await queue.start()
  await sql(db, 'CREATE TABLE IF NOT EXISTS bench_baseline (id uuid PRIMARY KEY, data jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())')
  const send = (jobId: string) => queue.send({ jobId }, { ownerId: randomUUID(), tier: 'free', timeoutSec: 60 })

  // Enqueue rate with no worker running: the cost of send() alone.
  const enqueued: string[] = []
  const enqueueRates: number[] = []
  const insertRates: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    enqueueRates.push(await rate(PER_ROUND, () => { const jobId = randomUUID(); enqueued.push(jobId); return send(jobId) }))
    insertRates.push(await rate(PER_ROUND, () => sql(db, 'INSERT INTO bench_baseline (id, data) VALUES ($1, $2)', [randomUUID(), JSON.stringify({ jobId: randomUUID() })])))
  }
  // Deleted rather than drained: between jobs that take under a second, a worker waits out its
  // 1 s poll until pg-boss's cached queue stats (its monitor's, every 15 s here) show the
  // backlog, so draining 500 no-op jobs took ~20 s, at 2 jobs/s until the burst began.
  for (const jobId of enqueued) await queue.forget(jobId)

  // Pickup by an idle worker.
  const sent = new Map<string, number>()
  const latencies: number[] = []
  let allPicked: () => void = () => {}
  const done = new Promise<void>((resolve) => { allPicked = resolve })
  await queue.work(2, async (delivery) => {
    latencies.push(performance.now() - sent.get(delivery.jobId)!)
    if (latencies.length === LATENCY_JOBS) allPicked()
  })
  // Let the workers' first, empty fetch finish: every job then meets an idle worker.
  await pause(1000)
  for (let i = 0; i < LATENCY_JOBS; i++) {
    const jobId = randomUUID()
    sent.set(jobId, performance.now())
    await send(jobId)
    await pause(20)
  }
  // Unref'd: a deadline that lost its race must not hold the process open until it fires.
  await Promise.race([done, sleep(60_000, undefined, { ref: false })])
  const notify = await notifyLatency(db)
  await queue.stop(5000)
  const enqueue = median(enqueueRates)
  const insert = median(insertRates)
  return [
    label,
    enqueue.toFixed(0), insert.toFixed(0), (enqueue / insert).toFixed(2),
    `${latencies.length}/${LATENCY_JOBS}`,
    median(latencies).toFixed(1), percentile(latencies, 0.99).toFixed(1),
    median(notify).toFixed(2), percentile(notify, 0.99).toFixed(2)
  ]
}

const rows: (string | number)[][] = []
const pglite = await openDatabase({ databaseUrl: '' })
rows.push(await measure('PGlite', pglite, 'pgboss'))
await pglite.close()

const admin = new pg.Client({ connectionString: DATABASE_URL })
const reachable = await admin.connect().then(() => true, () => false)
if (reachable) {
  const schema = `bench_${randomBytes(4).toString('hex')}`
  await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`)
  const db = await openDatabase({ databaseUrl: DATABASE_URL, schema })
  try {
    rows.push(await measure('PostgreSQL', db, `${schema}_boss`))
  } finally {
    await db.close()
    await admin.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`)
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(`${schema}_boss`)} CASCADE`)
    await admin.end()
  }
} else {
  rows.push(['PostgreSQL', `skipped: ${DATABASE_URL} not reachable`])
}

printTable(`bench/queue: ${JOBS} enqueues in ${ROUNDS} rounds alternating with INSERTs, medians; pickup of ${LATENCY_JOBS} jobs sent 20 ms apart (aim: pickup p50 < 100 ms on PostgreSQL)`, [
  ['backend', 'enqueue/s', 'INSERT/s (baseline)', 'ratio', 'picked up', 'pickup p50 ms', 'pickup p99 ms', 'NOTIFY p50 ms (baseline)', 'NOTIFY p99 ms'],
  ...rows
])
