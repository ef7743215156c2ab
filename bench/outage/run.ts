// bench/outage: issue 14's resilience checks 3 and 4 on real processes. Two `tympan serve`
// nodes (A runs jobs, B only serves) on a private PostgreSQL and a private Redis
// (test/helpers/services.ts), with clients sending requests to both throughout:
//   - PostgreSQL stopped for --outage seconds and started again: what the clients got while
//     it was down (503 problems, and how long the slowest took against the median request
//     before the outage), how long until /readyz is 200 again on both nodes, and whether
//     every job submitted before, during (refused 503) and after the outage finished once;
//   - Redis stopped and started: requests keep being served, and the shared counters resume.
// Usage: node bench/outage/run.ts [--jobs N] [--outage SECONDS]
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { fixture } from '../../test/helpers/audio.ts'
import { startPostgres, startRedis } from '../../test/helpers/services.ts'
import { median, printTable, startServer, type RunningServer } from '../lib/server.ts'

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '20' }, outage: { type: 'string', default: '5' } } })
const JOBS = Number(values.jobs)
const OUTAGE_MS = Number(values.outage) * 1000
const ADMIN = { email: 'outage-bench@example.test', password: 'outage bench admin passphrase 2026' }
const secret = () => randomBytes(48).toString('base64url')

interface Load {
  statuses: Map<number, number>
  latencies: number[]
  stop: () => Promise<void>
}

/** Clients sending GET /api/v1/jobs to every node, one request at a time each, until stopped. */
function load (urls: string[], key: string): Load {
  const statuses = new Map<number, number>()
  const latencies: number[] = []
  let running = true
  const client = async (url: string) => {
    while (running) {
      const started = performance.now()
      let status: number
      try {
        const res = await fetch(`${url}/api/v1/jobs`, { headers: { 'x-api-key': key }, signal: AbortSignal.timeout(60_000) })
        await res.arrayBuffer()
        status = res.status
      } catch { status = -1 }
      latencies.push(performance.now() - started)
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
      await sleep(20)
    }
  }
  const clients = urls.flatMap((url) => [client(url), client(url)])
  return { statuses, latencies, stop: async () => { running = false; await Promise.all(clients) } }
}

const summary = (statuses: Map<number, number>) => [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s === -1 ? 'no answer' : s}×${n}`).join(' ')

async function until (check: () => Promise<boolean>, timeoutMs = 180_000): Promise<number> {
  const started = performance.now()
  while (!await check().catch(() => false)) {
    if (performance.now() - started > timeoutMs) throw new Error('timed out')
    await sleep(100)
  }
  return performance.now() - started
}

const pg = await startPostgres()
const redis = await startRedis()
const env = {
  DATABASE_URL: pg.url,
  REDIS_URL: redis.url,
  JWT_SECRET_KEY: secret(),
  CSRF_SECRET_KEY: secret(),
  SESSION_SECRET_KEY: secret(),
  TYMPAN_ADMIN_EMAIL: ADMIN.email,
  TYMPAN_ADMIN_PASSWORD: ADMIN.password,
  RATE_LIMIT_REQUESTS: '1000000',
  RATE_LIMIT_UPLOADS_FREE: '1000000'
}
// One data directory for both nodes, as a shared volume would be: files are local-disk only
// without an object store, and A's worker reads what B received.
const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-outage-'))
const nodes: RunningServer[] = []
try {
  nodes.push(await startServer({ ...env, TYMPAN_DATA_DIR: shared, WORKER_CONCURRENCY: '2' }))
  nodes.push(await startServer({ ...env, TYMPAN_DATA_DIR: shared, WORKER_CONCURRENCY: '0' }))
  const [a, b] = nodes as [RunningServer, RunningServer]
  const login = await fetch(`${a.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  const csrf = (await login.json() as { csrfToken: string }).csrfToken
  const created = await fetch(`${a.url}/api/v1/keys`, {
    method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf },
    body: JSON.stringify({ name: 'bench', scopes: ['files:read', 'files:write', 'jobs:read', 'jobs:write'] })
  })
  const { key } = await created.json() as { key: string }
  const headers = { 'x-api-key': key }
  const form = new FormData()
  form.append('file', new Blob([fs.readFileSync(fixture('wav'))]), 'audio.wav')
  const uploaded = await fetch(`${b.url}/api/v1/files`, { method: 'POST', headers, body: form })
  const fileId = (await uploaded.json() as { id: string }).id

  // PostgreSQL
  const ids: string[] = []
  const send = async (url: string) => {
    const res = await fetch(`${url}/api/v1/jobs`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ fileId, type: 'analyze' }) })
    const body = await res.json() as { id?: string }
    if (res.ok && body.id) ids.push(body.id)
    return res.status
  }
  const steady = load([a.url, b.url], key)
  await sleep(2000)
  await steady.stop()
  const baseline = median(steady.latencies)

  const traffic = load([a.url, b.url], key)
  for (let i = 0; i < JOBS; i++) await send(i % 2 ? a.url : b.url)
  await pg.stop()
  const during = load([a.url, b.url], key)
  await traffic.stop()
  const refusedJobs = new Map<number, number>()
  const outageEnds = Date.now() + OUTAGE_MS
  while (Date.now() < outageEnds) {
    const status = await send(b.url)
    refusedJobs.set(status, (refusedJobs.get(status) ?? 0) + 1)
    await sleep(200)
  }
  const readyDown = [(await fetch(`${a.url}/readyz`)).status, (await fetch(`${b.url}/readyz`)).status]
  await during.stop()
  await pg.start()
  const back = load([a.url, b.url], key)
  const readyAgainMs = Math.max(...await Promise.all([a, b].map((n) => until(async () => (await fetch(`${n.url}/readyz`)).status === 200))))
  for (let i = 0; i < JOBS; i++) await send(i % 2 ? a.url : b.url)
  const allDoneMs = await until(async () => {
    const finals = await Promise.all(ids.map(async (id) => await (await fetch(`${b.url}/api/v1/jobs/${id}`, { headers })).json() as { status: string, error?: { code: string } }))
  const states = finals.map((job) => job.status)
  const failures = new Map<string, number>()
  for (const job of finals) if (job.error) failures.set(job.error.code, (failures.get(job.error.code) ?? 0) + 1)
    return states.every((s) => s === 'succeeded' || s === 'failed')
  })
  await back.stop()
  const finals = await Promise.all(ids.map(async (id) => await (await fetch(`${b.url}/api/v1/jobs/${id}`, { headers })).json() as { status: string, error?: { code: string } }))
  const states = finals.map((job) => job.status)
  const failures = new Map<string, number>()
  for (const job of finals) if (job.error) failures.set(job.error.code, (failures.get(job.error.code) ?? 0) + 1)

  printTable('PostgreSQL stopped under load (two API nodes, A runs jobs)', [
    ['measure', 'result'],
    ['/readyz while down (A, B)', readyDown.join(', ')],
    ['GET /api/v1/jobs while down', summary(during.statuses)],
    ['slowest answer while down / median before (ms)', `${Math.max(...during.latencies).toFixed(0)} / ${baseline.toFixed(1)} (ratio ${(Math.max(...during.latencies) / baseline).toFixed(0)})`],
    ['POST /api/v1/jobs while down', summary(refusedJobs)],
    ['GET /api/v1/jobs after start()', summary(back.statuses)],
    ['start() → /readyz 200 on both (ms)', readyAgainMs.toFixed(0)],
    [`jobs accepted (before + after: ${JOBS} + ${JOBS})`, ids.length],
    ['jobs finished', `${states.filter((s) => s === 'succeeded').length} succeeded, ${states.filter((s) => s === 'failed').length} failed, ${states.filter((s) => s !== 'succeeded' && s !== 'failed').length} lost`],
    ['failures by code', [...failures].map(([code, n]) => `${code}×${n}`).join(' ') || 'none'],
    ['readyz back → every job finished (ms)', allDoneMs.toFixed(0)]
  ])

  // Redis
  const probe = new Redis(redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 100 })
  probe.on('error', () => {})
  const counters = async () => (await probe.keys('tympan:rl:*')).length
  await until(async () => probe.status === 'ready')
  const beforeKeys = await counters()
  await redis.stop()
  const redisDown = load([a.url, b.url], key)
  await sleep(3000)
  await redisDown.stop()
  await redis.start()
  await until(async () => probe.status === 'ready')
  const resumedMs = await until(async () => {
    await fetch(`${a.url}/api/v1/me`, { headers })
    return await counters() > 0
  })
  probe.disconnect()
  printTable('Redis stopped under load', [
    ['measure', 'result'],
    ['rate-limit counters in Redis before', beforeKeys],
    ['GET /api/v1/jobs while Redis is down', summary(redisDown.statuses)],
    ['start() → counters written to Redis again (ms)', resumedMs.toFixed(0)]
  ])
} finally {
  for (const n of nodes) await n.stop()
  await redis.close()
  await pg.close()
  fs.rmSync(shared, { recursive: true, force: true })
}
