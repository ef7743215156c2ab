// bench/queue: the job queue (pg-boss via src/modules/jobs/job-queue.ts) on PGlite and on
// PostgreSQL, each beside a baseline on the same database in the same run:
//   - enqueue rate: queue.send() one after another, against plain INSERTs into a table;
//   - pickup latency: from send() to the handler starting, for jobs sent 20 ms apart to an
//     idle worker, against a bare NOTIFY round trip (LISTEN/NOTIFY is what wakes workers).
// Aim: pickup p50 under 100 ms on PostgreSQL.
// Usage: node bench/queue/run.ts [--jobs N] [--latency-jobs N]
import { randomBytes, randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import pg from 'pg'
import pino from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import { openDatabase, quoteIdent, type Db } from '../../src/db/database.ts'
import { migrate } from '../../src/db/migrator.ts'
import { jobQueue } from '../../src/modules/jobs/job-queue.ts'
import { median, printTable } from '../lib/server.ts'

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '500' }, 'latency-jobs': { type: 'string', default: '100' } } })
const JOBS = Number(values.jobs)
const LATENCY_JOBS = Number(values['latency-jobs'])
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const log = pino({ level: 'warn' }) as unknown as FastifyBaseLogger
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!

async function insertRate (db: Db): Promise<number> {
  const run = async <R>(text: string, params?: unknown[]) => db.backend === 'pglite' ? (await db.pglite!.query<R>(text, params)).rows : (await db.pool!.query(text, params)).rows as R[]
  await run('CREATE TABLE IF NOT EXISTS bench_baseline (id uuid PRIMARY KEY, data jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())')
  const start = performance.now()
  for (let i = 0; i < JOBS; i++) await run('INSERT INTO bench_baseline (id, data) VALUES ($1, $2)', [randomUUID(), JSON.stringify({ jobId: randomUUID() })])
  return JOBS / ((performance.now() - start) / 1000)
}

async function notifyLatency (db: Db): Promise<number[]> {
  const latencies: number[] = []
  let sentAt = 0
  let received: () => void = () => {}
  const onMessage = () => { latencies.push(performance.now() - sentAt); received() }
  let stop: () => Promise<void>
  if (db.backend === 'pglite') {
    const unlisten = await db.pglite!.listen('bench_baseline', onMessage)
    stop = unlisten
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
    if (db.backend === 'pglite') await db.pglite!.query("SELECT pg_notify('bench_baseline', 'x')")
    else await db.pool!.query("SELECT pg_notify('bench_baseline', 'x')")
    await got
    await pause(20)
  }
  await stop()
  return latencies
}

const step = (what: string) => { if (process.env.BENCH_DEBUG) process.stderr.write(`${new Date().toISOString()} ${what}\n`) }

async function measure (label: string, db: Db, schema: string) {
  await migrate(db)
  const queue = jobQueue(db, { heartbeatSec: 30, retryLimit: 0, runningPerUser: { free: 100, premium: 100, enterprise: 100 }, schema }, log)
  await queue.start()
  const sent = new Map<string, number>()
  const latencies: number[] = []
  let picked = 0
  let allPicked: () => void = () => {}

  // Enqueue rate, with no worker running: the cost of send() alone.
  const start = performance.now()
  for (let i = 0; i < JOBS; i++) await queue.send({ jobId: randomUUID() }, { ownerId: randomUUID(), tier: 'free', timeoutSec: 60 })
  const enqueueRate = JOBS / ((performance.now() - start) / 1000)
  step('enqueued')
  const baselineRate = await insertRate(db)
  step('baseline inserts')

  // Drain the backlog, then measure pickup by an idle worker.
  let measuring = false
  let drained = 0
  await queue.work(2, async (delivery) => {
    if (!measuring) { drained++; return }
    latencies.push(performance.now() - sent.get(delivery.jobId)!)
    if (++picked === LATENCY_JOBS) allPicked()
  })
  const drainDeadline = Date.now() + 300_000
  while (drained < JOBS && Date.now() < drainDeadline) await pause(200)
  step(`drained ${drained}`)
  await pause(1000)
  measuring = true
  const done = new Promise<void>((resolve) => { allPicked = resolve })
  for (let i = 0; i < LATENCY_JOBS; i++) {
    const jobId = randomUUID()
    sent.set(jobId, performance.now())
    await queue.send({ jobId }, { ownerId: randomUUID(), tier: 'free', timeoutSec: 60 })
    await pause(20)
  }
  await Promise.race([done, pause(60_000)])
  step(`picked ${picked}`)
  const notify = await notifyLatency(db)
  step('notify')
  await queue.stop(5000)
  return [
    label,
    enqueueRate.toFixed(0), baselineRate.toFixed(0), (enqueueRate / baselineRate).toFixed(2),
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

printTable(`bench/queue: ${JOBS} enqueues; pickup of ${LATENCY_JOBS} jobs sent 20 ms apart (aim: pickup p50 < 100 ms on PostgreSQL)`, [
  ['backend', 'enqueue/s', 'INSERT/s (baseline)', 'ratio', 'picked up', 'pickup p50 ms', 'pickup p99 ms', 'NOTIFY p50 ms (baseline)', 'NOTIFY p99 ms'],
  ...rows
])
