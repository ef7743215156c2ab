// bench/scale: Tympan as several processes on one PostgreSQL and one Redis (private instances
// from test/helpers/services.ts), with faults injected, each scenario a row of one table:
//   1. 2 API nodes, 2 workers: jobs submitted alternately to both all finish exactly once;
//      a free key's request budget spent across both nodes is refused at the shared limit;
//      a key revoked on node A is refused by node B on the next request.
//   2. kill -9 of a worker mid-job, repeatedly, restarting it: every job still finishes, no
//      duplicate or partial artifacts, storage and rows agree.
//   3. PostgreSQL stopped under load, then started: /readyz 503 meanwhile, every request
//      answered (503 problems, no hangs), time to recover, no accepted job lost; then
//      `tympan admin sweep` (grace 1 min) collects the artifacts the outage orphaned.
//   4. Redis stopped under load: requests keep succeeding (per-process counters), Redis used
//      again once it is back.
//   5. S3 stopped during uploads (needs the S3 driver: STORAGE_URL), and local storage full
//      (a 16 MiB tmpfs): 503 / 507 problems, nothing orphaned, uploads work again after.
//   6. Throughput: the same jobs with 1, 2 and 4 worker processes, jobs/s and the ratio to 1.
// Storage is S3 (s3rver, startS3()) when this tree has the S3 driver (STORAGE_URL), else local
// storage shared through one directory; 5b is always local storage on a tmpfs.
// Jobs are `analyze` on a 3 s WAV (~1.5 s of work each). Each worker runs one job at a time
// (WORKER_CONCURRENCY=1), so worker processes are the unit that scales.
// Usage: node bench/scale/run.ts [--quick] [--only 1,2,...]
import { randomBytes, randomUUID } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import pg from 'pg'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { EnvSchema } from '../../src/config/config.schema.ts'
import { SCOPES } from '../../src/access/permissions.ts'
import { startPostgres, startRedis, startS3, type S3Service, type Service } from '../../test/helpers/services.ts'
import { cleanup, incompleteWrites, runSweep, startApi, startWorker, storedObjects, type ApiNode, type Layout, type Proc } from './cluster.ts'
import { countOutcomes, exactlyOnce, formatCounts, markdownTable, orphans, sharedBudgetHeld, throughput, type ArtifactRow, type JobRow, type Outcome } from './checks.ts'

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string', default: '1,2,3,4,5,6' } } })
const QUICK = values.quick
const ONLY = new Set(values.only.split(',').map((s) => s.trim()))
const SIZE = QUICK
  ? { jobs: 40, killJobs: 12, kills: 3, throughputJobs: 12 }
  : { jobs: 200, killJobs: 40, kills: 6, throughputJobs: 60 }
const ANALYZE_ARTIFACTS = ['spectrogram.png', 'waveform.json', 'waveform.png']
const RATE_LIMIT = 30
const CLIENT_TIMEOUT_MS = 10_000
const ADMIN = { email: 'scale-admin@example.test', password: `scale bench admin ${randomBytes(8).toString('hex')}` }
const S3_AVAILABLE = 'STORAGE_URL' in EnvSchema.properties

interface Row { scenario: string, result: 'pass' | 'FAIL' | 'not run', measured: string }
const rows: Row[] = []
const record = (row: Row) => { rows.push(row); console.log(`[${row.result}] ${row.scenario}: ${row.measured}`) }
const elapsed = (from: number) => `${((performance.now() - from) / 1000).toFixed(1)} s`

// --- HTTP ------------------------------------------------------------------------------

interface Answer { outcome: Outcome, type: string, body: string, ms: number }

async function call (url: string, init: RequestInit = {}, timeoutMs = CLIENT_TIMEOUT_MS): Promise<Answer> {
  const started = performance.now()
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
    const body = await res.text()
    return { outcome: res.status, type: res.headers.get('content-type') ?? '', body, ms: performance.now() - started }
  } catch (error) {
    const name = (error as Error).name
    return { outcome: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'error', type: '', body: String(error), ms: performance.now() - started }
  }
}

const auth = (key: string) => ({ authorization: `Bearer ${key}` })
const json = (key: string, body: unknown) => ({ method: 'POST', headers: { ...auth(key), 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** A call that must answer `status`; anything else stops the bench (setup, not measurement). */
async function expect<T> (status: number, url: string, init: RequestInit = {}): Promise<T> {
  const answer = await call(url, init, 60_000)
  if (answer.outcome !== status) throw new Error(`${init.method ?? 'GET'} ${url}: expected ${status}, got ${answer.outcome}: ${answer.body.slice(0, 300)}`)
  return (answer.body ? JSON.parse(answer.body) : undefined) as T
}

async function login (node: ApiNode, email: string, password: string): Promise<string> {
  const reply = await expect<{ accessToken: string }>(200, `${node.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password, tokens: true }) })
  return reply.accessToken
}

async function createKey (node: ApiNode, bearer: string, scopes: readonly string[]): Promise<{ id: string, key: string }> {
  return expect(201, `${node.url}/api/v1/keys`, json(bearer, { name: `scale ${randomUUID().slice(0, 8)}`, scopes }))
}

/** A member of `tier` with a password of its own (an admin's choice is one-time) and a key. */
async function member (node: ApiNode, adminKey: string, tier: 'free' | 'premium'): Promise<{ bearer: string, key: { id: string, key: string } }> {
  const email = `scale-${randomBytes(4).toString('hex')}@example.test`
  const first = `first scale passphrase ${randomBytes(6).toString('hex')}`
  const own = `own scale passphrase ${randomBytes(6).toString('hex')}`
  await expect(201, `${node.url}/api/v1/admin/users`, json(adminKey, { email, password: first, role: 'member', tier }))
  await expect(200, `${node.url}/api/v1/me/password`, json(await login(node, email, first), { currentPassword: first, newPassword: own }))
  const bearer = await login(node, email, own)
  return { bearer, key: await createKey(node, bearer, ['files:read', 'jobs:read', 'jobs:write']) }
}

async function upload (node: ApiNode, key: string, wav: Buffer, timeoutMs = CLIENT_TIMEOUT_MS): Promise<Answer> {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(wav)], { type: 'audio/wav' }), 'tone.wav')
  return call(`${node.url}/api/v1/files`, { method: 'POST', headers: auth(key), body: form }, timeoutMs)
}

const submit = (node: ApiNode, key: string, fileId: string) => call(`${node.url}/api/v1/jobs`, json(key, { type: 'analyze', fileId, params: {} }))
const idOf = (answer: Answer) => (JSON.parse(answer.body) as { id: string }).id
const isProblem = (answer: Answer) => answer.type.startsWith('application/problem+json')

async function pool<T, R> (items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index]!, index)
    }
  }))
  return results
}

/** Submits `count` jobs alternately to the nodes; every submission must be accepted. */
async function submitJobs (nodes: readonly ApiNode[], key: string, fileId: string, count: number): Promise<string[]> {
  return pool(Array.from({ length: count }, (_, i) => nodes[i % nodes.length]!), 8, async (node) => {
    const answer = await submit(node, key, fileId)
    if (answer.outcome !== 202) throw new Error(`job submission to ${node.name} answered ${answer.outcome}: ${answer.body.slice(0, 300)}`)
    return idOf(answer)
  })
}

// --- what PostgreSQL and storage say ---------------------------------------------------

let db: pg.Pool
let objects: () => Promise<string[]>
/** Writes begun and not completed: local `incoming/` files, or S3 multipart uploads. */
let incomplete: () => Promise<number>

async function query<R> (text: string, params: unknown[] = []): Promise<R[]> {
  return (await db.query(text, params)).rows as R[]
}

/** Waits until none of the jobs is queued or running; false when `timeoutMs` passed first. */
async function finished (ids: readonly string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = await query<{ n: string }>("SELECT count(*) AS n FROM jobs WHERE id = ANY($1) AND status IN ('queued', 'running')", [ids]).catch(() => [{ n: '-1' }])
    if (left[0]!.n === '0') return true
    if (Date.now() > deadline) return false
    await sleep(250)
  }
}

async function jobFacts (ids: readonly string[]) {
  const jobs = await query<JobRow>('SELECT id, status, attempts FROM jobs WHERE id = ANY($1)', [ids])
  const artifacts = await query<ArtifactRow>('SELECT job_id, name, object_id FROM job_artifacts WHERE job_id = ANY($1)', [ids])
  const events = await query<{ job_id: string, n: string }>("SELECT job_id, count(*) AS n FROM job_events WHERE kind = 'status' AND data->>'status' = 'succeeded' AND job_id = ANY($1) GROUP BY job_id", [ids])
  const succeeded = new Map(events.map((e) => [e.job_id, Number(e.n)]))
  const verdict = exactlyOnce(ids, jobs, artifacts, succeeded, ANALYZE_ARTIFACTS)
  const retried = jobs.filter((j) => j.attempts > 1).length
  const maxAttempts = Math.max(0, ...jobs.map((j) => j.attempts))
  return { verdict, jobs, artifacts, retried, maxAttempts, succeeded: jobs.filter((j) => j.status === 'succeeded').length }
}

async function namedObjects (): Promise<string[]> {
  return [
    ...(await query<{ id: string }>('SELECT id FROM files')).map((r) => r.id),
    ...(await query<{ object_id: string }>('SELECT object_id FROM job_artifacts')).map((r) => r.object_id)
  ]
}

/**
 * Every file row and artifact row against the objects in storage; `known` are objects an
 * earlier row already reported without a row, so that each orphan is blamed on its scenario.
 */
async function storageAgrees (known: ReadonlySet<string> = new Set()) {
  return orphans(await namedObjects(), (await objects()).filter((id) => !known.has(id)))
}

async function unnamedObjects (): Promise<Set<string>> {
  const named = new Set(await namedObjects())
  return new Set((await objects()).filter((id) => !named.has(id)))
}

// --- scenarios -------------------------------------------------------------------------

interface Cluster { layout: Layout, api: ApiNode[], workers: Proc[], adminKey: string, fileId: string, wav: Buffer }

async function scenarioExactlyOnce (c: Cluster): Promise<void> {
  const started = performance.now()
  const ids = await submitJobs(c.api, c.adminKey, c.fileId, SIZE.jobs)
  const done = await finished(ids, 30 * 60_000)
  const facts = await jobFacts(ids)
  const store = await storageAgrees()
  const ok = done && facts.verdict.ok && facts.retried === 0 && store.ok
  record({
    scenario: `1a. ${SIZE.jobs} jobs across 2 API nodes, 2 workers`,
    result: ok ? 'pass' : 'FAIL',
    measured: `${facts.succeeded}/${SIZE.jobs} succeeded once, ${facts.artifacts.length} artifacts (${ANALYZE_ARTIFACTS.length} each), max attempts ${facts.maxAttempts}, rows without object ${store.rowsWithoutObject}, objects without row ${store.objectsWithoutRow}, in ${elapsed(started)}${[...facts.verdict.problems, ...store.problems].map((p) => `; ${p}`).join('')}`
  })

  // A fresh key's budget, spent alternately on both nodes. Premium: the free tier's budget is
  // also every anonymous address's, and /readyz (polled below) is not exempt from it.
  const limited = await member(c.api[0]!, c.adminKey, 'premium')
  const statuses: number[] = []
  for (let i = 0; i < RATE_LIMIT * c.api.length + 5; i++) {
    const answer = await call(`${c.api[i % c.api.length]!.url}/api/v1/me`, { headers: auth(limited.key.key) })
    statuses.push(typeof answer.outcome === 'number' ? answer.outcome : 0)
    if (answer.outcome === 429) break
  }
  const first = statuses.indexOf(429) + 1
  record({
    scenario: '1b. rate limit across nodes (one key, budget spent on both)',
    result: sharedBudgetHeld(statuses, RATE_LIMIT) ? 'pass' : 'FAIL',
    measured: `budget ${RATE_LIMIT}/min: first 429 at request ${first || 'never'} (per-node counters would refuse only after ${RATE_LIMIT * c.api.length}); ${formatCounts(countOutcomes(statuses))}`
  })

  // Revocation: node B has just authenticated the key (and may cache it); node A revokes it.
  const victim = await member(c.api[0]!, c.adminKey, 'free')
  const [a, b] = [c.api[0]!, c.api[1]!]
  const warm = await call(`${b.url}/api/v1/me`, { headers: auth(victim.key.key) })
  await expect(204, `${a.url}/api/v1/keys/${victim.key.id}`, { method: 'DELETE', headers: auth(victim.bearer) })
  const revokedAt = performance.now()
  const next = await call(`${b.url}/api/v1/me`, { headers: auth(victim.key.key) })
  let refusedAfterMs = next.outcome === 401 ? 0 : undefined
  while (refusedAfterMs === undefined && performance.now() - revokedAt < 10_000) {
    await sleep(50)
    if ((await call(`${b.url}/api/v1/me`, { headers: auth(victim.key.key) })).outcome === 401) refusedAfterMs = performance.now() - revokedAt
  }
  record({
    scenario: '1c. key revoked on node A, used on node B',
    result: warm.outcome === 200 && next.outcome === 401 ? 'pass' : 'FAIL',
    measured: `before: ${warm.outcome}; next request on B: ${next.outcome}${next.outcome === 401 ? '' : `; refused after ${refusedAfterMs === undefined ? 'more than 10 s' : `${refusedAfterMs.toFixed(0)} ms`}`}`
  })
}

async function scenarioKill (c: Cluster): Promise<void> {
  const started = performance.now()
  const known = await unnamedObjects()
  const ids = await submitJobs(c.api, c.adminKey, c.fileId, SIZE.killJobs)
  const kills: string[] = []
  for (let k = 0; k < SIZE.kills; k++) {
    // Long enough for a restarted worker to take a job and get into it (~1.5 s of work each).
    await sleep(2500 + Math.floor(Math.random() * 1500))
    const index = k % c.workers.length
    const running = await query<{ n: string }>("SELECT count(*) AS n FROM jobs WHERE id = ANY($1) AND status = 'running'", [ids])
    await c.workers[index]!.kill9()
    kills.push(running[0]!.n)
    c.workers[index] = await startWorker(c.layout, `worker-${index + 1}`, { WORKER_CONCURRENCY: '1' })
  }
  const done = await finished(ids, 30 * 60_000)
  const facts = await jobFacts(ids)
  const store = await storageAgrees(known)
  const leftovers = await incomplete()
  const ok = done && facts.verdict.ok && store.ok && facts.retried > 0
  record({
    scenario: `2. kill -9 of a worker mid-job, ${SIZE.kills} times (restarted), ${SIZE.killJobs} jobs`,
    result: ok ? 'pass' : 'FAIL',
    measured: `${facts.succeeded}/${SIZE.killJobs} succeeded once; ${facts.retried} jobs retried (max attempts ${facts.maxAttempts}); jobs running at each kill: ${kills.join(',')}; rows without object ${store.rowsWithoutObject}, objects without row ${store.objectsWithoutRow}; incomplete writes left ${leftovers}; in ${elapsed(started)}${[...facts.verdict.problems, ...store.problems].map((p) => `; ${p}`).join('')}`
  })
}

type Phase = 'before' | 'down' | 'recovering' | 'after'

/**
 * Requests to both nodes while `fault` runs: job submissions every 300 ms, and three loops of
 * reads (the job list: a database query, an authenticated route). Returns every answer with
 * the phase it was sent in, the ids of the accepted jobs and the /readyz answers.
 */
async function underLoad (c: Cluster, fault: (setPhase: (p: Phase) => void) => Promise<void>) {
  let phase: Phase = 'before'
  let stopped = false
  const answers: { phase: Phase, answer: Answer }[] = []
  const accepted: string[] = []
  const ready: { phase: Phase, outcome: Outcome }[] = []
  let turn = 0
  const node = () => c.api[turn++ % c.api.length]!
  const submitter = (async () => {
    while (!stopped) {
      const at = phase
      const answer = await submit(node(), c.adminKey, c.fileId)
      answers.push({ phase: at, answer })
      if (answer.outcome === 202) accepted.push(idOf(answer))
      await sleep(300)
    }
  })()
  const readers = Array.from({ length: 3 }, async () => {
    while (!stopped) {
      const at = phase
      answers.push({ phase: at, answer: await call(`${node().url}/api/v1/jobs?limit=5`, { headers: auth(c.adminKey) }) })
      await sleep(20)
    }
  })
  const probe = (async () => {
    while (!stopped) {
      const at = phase
      ready.push({ phase: at, outcome: (await call(`${c.api[0]!.url}/readyz`, {}, 5000)).outcome })
      await sleep(250)
    }
  })()
  await sleep(3000)
  await fault((p) => { phase = p })
  await sleep(3000)
  stopped = true
  await Promise.all([submitter, ...readers, probe])
  return { answers, accepted, ready }
}

const byPhase = (answers: { phase: Phase, answer: Answer }[], phase: Phase) => formatCounts(countOutcomes(answers.filter((a) => a.phase === phase).map((a) => a.answer.outcome)))

async function allReady (c: Cluster): Promise<boolean> {
  const answers = await Promise.all(c.api.map((n) => call(`${n.url}/readyz`, {}, 2000)))
  return answers.every((a) => a.outcome === 200)
}

/**
 * Restarts every API node or worker that has exited, so that the later scenarios still run
 * on the full cluster; returns what had exited, for the row that caused it.
 */
async function revive (c: Cluster): Promise<string[]> {
  const exited: string[] = []
  for (const [index, node] of c.api.entries()) {
    if (node.exit() === undefined) continue
    exited.push(`${node.name} (${node.exit()})`)
    c.api[index] = await startApi(c.layout, node.name)
  }
  for (const [index, worker] of c.workers.entries()) {
    if (worker.exit() === undefined) continue
    exited.push(`${worker.name} (${worker.exit()})`)
    c.workers[index] = await startWorker(c.layout, worker.name, { WORKER_CONCURRENCY: '1' })
  }
  return exited
}

/**
 * `tympan admin sweep` with a 1-minute grace period, run once every object written up to
 * `writtenBy` (performance.now()) is older than that: how many objects it collected.
 */
async function sweepOrphans (c: Cluster, writtenBy: number): Promise<{ collected: number, problem?: string }> {
  const graceMs = 60_000
  await sleep(Math.max(0, writtenBy + graceMs + 2000 - performance.now()))
  const { exit, output } = await runSweep(c.layout, { ORPHAN_OBJECT_GRACE_MINUTES: String(graceMs / 60_000) })
  const collected = /(\d+) orphaned object\(s\)/.exec(output)?.[1]
  if (exit !== 'exit 0' || collected === undefined) return { collected: 0, problem: `tympan admin sweep: ${exit}: ${output.slice(-500)}` }
  return { collected: Number(collected) }
}

async function scenarioPostgres (c: Cluster, pgService: Service): Promise<void> {
  const known = await unnamedObjects()
  let recoveryMs = Number.NaN
  const load = await underLoad(c, async (setPhase) => {
    setPhase('down')
    await pgService.stop()
    await sleep(5000)
    await pgService.start()
    const upAt = performance.now()
    setPhase('recovering')
    while (performance.now() - upAt < 120_000) {
      // A node that exited cannot recover by itself: the row says so, and revive() restarts it.
      if (c.api.some((n) => n.exit() !== undefined)) { recoveryMs = Number.NaN; setPhase('after'); return }
      if (await allReady(c) && (await call(`${c.api[1]!.url}/api/v1/jobs?limit=1`, { headers: auth(c.adminKey) })).outcome === 200) break
      await sleep(100)
    }
    recoveryMs = performance.now() - upAt
    setPhase('after')
  })
  const down = load.answers.filter((a) => a.phase === 'down')
  const badDown = down.filter((a) => typeof a.answer.outcome !== 'number' || (a.answer.outcome >= 300 && !(a.answer.outcome === 503 && isProblem(a.answer))))
  const other5xx = load.answers.filter((a) => typeof a.answer.outcome === 'number' && a.answer.outcome >= 500 && a.answer.outcome !== 503)
  const hangs = load.answers.filter((a) => a.answer.outcome === 'timeout' || a.answer.outcome === 'error')
  const slowest = Math.max(...load.answers.map((a) => a.answer.ms))
  const readyDown = formatCounts(countOutcomes(load.ready.filter((r) => r.phase === 'down').map((r) => r.outcome)))
  const crashed = await revive(c)
  const done = await finished(load.accepted, 10 * 60_000)
  const facts = await jobFacts(load.accepted)
  const store = await storageAgrees(known)
  // A job running when PostgreSQL went away has stored its artifacts but not recorded them
  // (its finish failed, its retry stored a new set): objects no row names, written before the
  // accepted jobs have finished. The sweep collects them once past the grace period; none
  // may be left after it.
  const gc = await sweepOrphans(c, performance.now())
  const swept = await storageAgrees(known)
  const recovered = Number.isFinite(recoveryMs) && recoveryMs < 120_000
  const ok = badDown.length === 0 && other5xx.length === 0 && hangs.length === 0 && readyDown.includes('503') && recovered && done && facts.verdict.ok && crashed.length === 0 && gc.problem === undefined && swept.ok
  record({
    scenario: '3. PostgreSQL stopped 5 s under load, then started',
    result: ok ? 'pass' : 'FAIL',
    measured: `down: ${byPhase(load.answers, 'down')} (not a 503 problem: ${badDown.length}); /readyz while down ${readyDown}; recovered (both /readyz 200 and a query answered) ${Number.isFinite(recoveryMs) ? `${(recoveryMs / 1000).toFixed(1)} s after start` : 'never'}; recovering: ${byPhase(load.answers, 'recovering')}; after: ${byPhase(load.answers, 'after')}; other 5xx ${other5xx.length}, timeouts/errors ${hangs.length}, slowest answer ${(slowest / 1000).toFixed(1)} s; ${facts.succeeded}/${load.accepted.length} accepted jobs succeeded once; before the sweep: rows without object ${store.rowsWithoutObject}, objects without row ${store.objectsWithoutRow}; tympan admin sweep (grace 1 min) collected ${gc.collected}; after it: rows without object ${swept.rowsWithoutObject}, objects without row ${swept.objectsWithoutRow}${crashed.length ? `; exited: ${crashed.join(', ')} (restarted by the bench)` : ''}${[...facts.verdict.problems, ...swept.problems, ...(gc.problem ? [gc.problem] : [])].map((p) => `; ${p}`).join('')}`
  })
}

async function scenarioRedis (c: Cluster, redisService: Service): Promise<void> {
  const known = await unnamedObjects()
  const load = await underLoad(c, async (setPhase) => {
    setPhase('down')
    await redisService.stop()
    await sleep(5000)
    await redisService.start()
    setPhase('after')
    await sleep(2000)
  })
  const crashed = await revive(c)
  const failed = load.answers.filter((a) => a.answer.outcome !== 200 && a.answer.outcome !== 202)
  const slowest = Math.max(...load.answers.map((a) => a.answer.ms))
  const redis = new Redis(c.layout.env.REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  const keys = await redis.dbsize()
  redis.disconnect()
  const done = await finished(load.accepted, 10 * 60_000)
  const facts = await jobFacts(load.accepted)
  const store = await storageAgrees(known)
  const ok = failed.length === 0 && keys > 0 && done && facts.verdict.ok && crashed.length === 0 && store.ok
  record({
    scenario: '4. Redis stopped 5 s under load, then started',
    result: ok ? 'pass' : 'FAIL',
    measured: `before: ${byPhase(load.answers, 'before')}; down: ${byPhase(load.answers, 'down')}; after: ${byPhase(load.answers, 'after')}; slowest answer ${(slowest / 1000).toFixed(2)} s; rate-limit keys in the restarted Redis: ${keys}; ${facts.succeeded}/${load.accepted.length} accepted jobs succeeded once; rows without object ${store.rowsWithoutObject}, objects without row ${store.objectsWithoutRow}${crashed.length ? `; exited: ${crashed.join(', ')} (restarted by the bench)` : ''}`
  })
}

async function scenarioS3 (c: Cluster, s3: S3Service | undefined): Promise<void> {
  if (!s3) {
    record({ scenario: '5a. S3 stopped during uploads', result: 'not run', measured: 'this branch has no S3 driver (STORAGE_URL is not in src/config/config.schema.ts); the other rows ran on local storage shared through one directory' })
    return
  }
  const known = await unnamedObjects()
  const answers: { phase: Phase, answer: Answer }[] = []
  let phase: Phase = 'before'
  let stopped = false
  const uploaders = c.api.map(async (node) => {
    while (!stopped) {
      const at = phase
      answers.push({ phase: at, answer: await upload(node, c.adminKey, c.wav) })
      await sleep(100)
    }
  })
  await sleep(2000)
  phase = 'down'
  await s3.stop()
  await sleep(4000)
  await s3.start()
  phase = 'after'
  await sleep(4000)
  stopped = true
  await Promise.all(uploaders)
  const afterOk = answers.filter((a) => a.phase === 'after').slice(-4).every((a) => a.answer.outcome === 201)
  const badDown = answers.filter((a) => a.phase === 'down' && a.answer.outcome !== 201 && !(a.answer.outcome === 503 && isProblem(a.answer)))
  const store = await storageAgrees(known)
  const ok = badDown.length === 0 && afterOk && store.ok
  record({
    scenario: '5a. S3 stopped 4 s during uploads to both nodes',
    result: ok ? 'pass' : 'FAIL',
    measured: `before: ${byPhase(answers, 'before')}; down: ${byPhase(answers, 'down')} (not 201 or a 503 problem: ${badDown.length}); after: ${byPhase(answers, 'after')}; rows without object ${store.rowsWithoutObject}, objects without row ${store.objectsWithoutRow}${store.problems.map((p) => `; ${p}`).join('')}`
  })
}

/** An API node whose storage is a 16 MiB tmpfs, filled by uploads until refused. */
async function scenarioFull (c: Cluster, runDir: string): Promise<void> {
  const mount = path.join(runDir, 'full')
  fs.mkdirSync(mount)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', mount])
  } catch (error) {
    record({ scenario: '5b. local storage full', result: 'not run', measured: `mount -t tmpfs failed: ${(error as Error).message}` })
    return
  }
  let mounted = true
  const unmount = async () => {
    if (!mounted) return
    mounted = false
    execFileSync('umount', [mount])
  }
  undo.push(unmount)
  let node: ApiNode | undefined
  try {
    // Same database and secrets; only its storage differs (so objects() does not see it).
    const layout: Layout = { ...c.layout, sharedFiles: mount, env: { ...c.layout.env, STORAGE_URL: '' } }
    node = await startApi(layout, 'api-full')
    // 3.3 MiB: the fourth or fifth fills the 16 MiB.
    const big = makeWav(path.join(runDir, 'big.wav'), 18)
    const accepted: string[] = []
    const statuses: Answer[] = []
    for (let i = 0; i < 20; i++) {
      const answer = await upload(node, c.adminKey, big, 60_000)
      statuses.push(answer)
      if (answer.outcome === 201) accepted.push(idOf(answer))
      else if (statuses.filter((s) => s.outcome !== 201).length >= 3) break
    }
    const refused = statuses.filter((s) => s.outcome !== 201)
    const clear507 = refused.length > 0 && refused.every((s) => s.outcome === 507 && isProblem(s))
    const stored = storedObjects(mount)
    const agree = orphans(accepted, stored)
    const partial = incompleteWrites(mount)
    const staging = path.join(mount, 'staging')
    const staged = fs.existsSync(staging) ? fs.readdirSync(staging).length : 0
    // Recovery: delete one accepted file, then the next upload fits.
    if (accepted[0]) await expect(204, `${node.url}/api/v1/files/${accepted[0]}`, { method: 'DELETE', headers: auth(c.adminKey) })
    const again = await upload(node, c.adminKey, big, 60_000)
    if (again.outcome === 201) await expect(204, `${node.url}/api/v1/files/${idOf(again)}`, { method: 'DELETE', headers: auth(c.adminKey) })
    for (const id of accepted.slice(1)) await expect(204, `${node.url}/api/v1/files/${id}`, { method: 'DELETE', headers: auth(c.adminKey) })
    const ok = clear507 && agree.ok && partial === 0 && staged === 0 && again.outcome === 201
    const sample = refused[0] ? `${refused[0].outcome} ${refused[0].type.split(';')[0]} ${refused[0].body.slice(0, 160)}` : 'none'
    record({
      scenario: `5b. local storage full (16 MiB tmpfs, ${(big.length / 1048576).toFixed(1)} MiB uploads)`,
      result: ok ? 'pass' : 'FAIL',
      measured: `${formatCounts(countOutcomes(statuses.map((s) => s.outcome)))}; first refusal: ${sample}; rows without object ${agree.rowsWithoutObject}, objects without row ${agree.objectsWithoutRow}, incomplete writes ${partial}, staging entries ${staged}; after deleting one file: ${again.outcome}`
    })
  } finally {
    await node?.stop()
    await unmount()
  }
}

async function scenarioThroughput (c: Cluster): Promise<void> {
  await Promise.all(c.workers.map((w) => w.stop()))
  const runs: { workers: number, jobs: number, seconds: number }[] = []
  const problems: string[] = []
  for (const count of [1, 2, 4]) {
    const workers = await Promise.all(Array.from({ length: count }, (_, i) => startWorker(c.layout, `tp-${count}-${i + 1}`, { WORKER_CONCURRENCY: '1' })))
    const ids = await submitJobs(c.api, c.adminKey, c.fileId, SIZE.throughputJobs)
    await finished(ids, 30 * 60_000)
    const facts = await jobFacts(ids)
    if (!facts.verdict.ok) problems.push(`${count} workers: ${facts.verdict.problems.join('; ')}`)
    const span = await query<{ s: number }>('SELECT EXTRACT(EPOCH FROM max(finished_at) - min(created_at))::float8 AS s FROM jobs WHERE id = ANY($1)', [ids])
    runs.push({ workers: count, jobs: ids.length, seconds: span[0]!.s })
    await Promise.all(workers.map((w) => w.stop()))
  }
  c.workers.length = 0
  const table = throughput(runs)
  for (const run of table) {
    record({
      scenario: `6. throughput, ${run.workers} worker process${run.workers > 1 ? 'es' : ''}`,
      result: problems.length === 0 ? 'pass' : 'FAIL',
      measured: `${run.jobs} jobs in ${run.seconds.toFixed(1)} s: ${run.jobsPerSecond.toFixed(2)} jobs/s, ${run.ratio.toFixed(2)}× of 1 worker (${os.availableParallelism()} cores: at most ~${os.availableParallelism()}×)${problems.length ? `; ${problems.join('; ')}` : ''}`
    })
  }
}

// --- main ------------------------------------------------------------------------------

/** A tone in pink noise, 48 kHz stereo 16-bit: 3 s is 0.55 MiB. */
function makeWav (file: string, seconds: number): Buffer {
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`, '-f', 'lavfi', '-i', `anoisesrc=d=${seconds}:c=pink:a=0.1:r=48000`, '-filter_complex', 'amix=inputs=2', '-ac', '2', '-c:a', 'pcm_s16le', file])
  return fs.readFileSync(file)
}

// What to undo, newest first: services, mounts. Run on the way out, and on Ctrl-C.
const undo: (() => Promise<void>)[] = []
let tornDown: Promise<void> | undefined
async function teardown (): Promise<void> {
  tornDown ??= (async () => {
    await cleanup()
    await db?.end().catch(() => {})
    for (const step of undo.reverse()) await step().catch((error: unknown) => console.error('cleanup step failed:', error))
  })()
  await tornDown
}

async function main (): Promise<void> {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-scale-'))
  const services: Service[] = []
  undo.push(async () => { for (const service of services.reverse()) await service.close().catch(() => {}) })
  const started = performance.now()
  try {
    console.log(`bench/scale${QUICK ? ' --quick' : ''}: logs in ${runDir}`)
    const pgService = await startPostgres()
    services.push(pgService)
    const redisService = await startRedis()
    services.push(redisService)
    const s3 = S3_AVAILABLE ? await startS3() : undefined
    if (s3) services.push(s3)
    const sharedFiles = path.join(runDir, 'shared-files')
    fs.mkdirSync(sharedFiles, { mode: 0o700 })
    const secret = () => randomBytes(48).toString('base64url')
    const layout: Layout = {
      runDir,
      sharedFiles,
      env: {
        DATABASE_URL: pgService.url,
        REDIS_URL: redisService.url,
        JWT_SECRET_KEY: secret(),
        CSRF_SECRET_KEY: secret(),
        SESSION_SECRET_KEY: secret(),
        TYMPAN_ADMIN_EMAIL: ADMIN.email,
        TYMPAN_ADMIN_PASSWORD: ADMIN.password,
        LOG_LEVEL: 'warn',
        // Two cores run everything here: event-loop lag would shed load the bench did not ask for.
        PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
        JOB_HEARTBEAT_SECONDS: '10',
        // Scenario 2 kills workers under the same jobs again and again.
        JOB_RETRY_LIMIT: '10',
        // The limit under test is the premium tier's (1b); the free tier's also budgets anonymous
        // requests per address, /readyz among them, which the bench polls several times a second.
        RATE_LIMIT_PREMIUM_REQUESTS: String(RATE_LIMIT),
        RATE_LIMIT_REQUESTS: '1000000',
        RATE_LIMIT_BURST: '0',
        RATE_LIMIT_WINDOW: '60',
        RATE_LIMIT_ENTERPRISE_REQUESTS: '1000000',
        JOBS_MAX_RUNNING_ENTERPRISE: '64',
        JOBS_MAX_UNFINISHED_ENTERPRISE: '5000',
        ...(s3 ? s3.env : {})
      }
    }
    db = new pg.Pool({ connectionString: pgService.url, max: 4 })
    // PostgreSQL goes away in scenario 3: an idle client's error must not end the bench.
    db.on('error', () => {})
    objects = s3 ? () => listS3(s3) : async () => storedObjects(sharedFiles)
    incomplete = async () => {
      if (!s3) return incompleteWrites(sharedFiles)
      const uploads = path.join(s3.directory, s3.bucket, '._S3rver_uploads')
      return fs.existsSync(uploads) ? fs.readdirSync(uploads).length : 0
    }

    // Node A migrates and creates the admin; B starts on the ready database.
    const a = await startApi(layout, 'api-a')
    const b = await startApi(layout, 'api-b')
    const workers = [await startWorker(layout, 'worker-1', { WORKER_CONCURRENCY: '1' }), await startWorker(layout, 'worker-2', { WORKER_CONCURRENCY: '1' })]
    const adminKey = (await createKey(a, await login(a, ADMIN.email, ADMIN.password), SCOPES)).key
    const wav = makeWav(path.join(runDir, 'tone.wav'), 3)
    const file = await upload(a, adminKey, wav, 60_000)
    if (file.outcome !== 201) throw new Error(`upload answered ${file.outcome}: ${file.body}`)
    const cluster: Cluster = { layout, api: [a, b], workers, adminKey, fileId: idOf(file), wav }

    if (ONLY.has('1')) await scenarioExactlyOnce(cluster)
    if (ONLY.has('2')) await scenarioKill(cluster)
    if (ONLY.has('3')) await scenarioPostgres(cluster, pgService)
    if (ONLY.has('4')) await scenarioRedis(cluster, redisService)
    if (ONLY.has('5')) {
      await scenarioS3(cluster, s3)
      await scenarioFull(cluster, runDir)
    }
    if (ONLY.has('6')) await scenarioThroughput(cluster)
  } finally {
    await teardown()
  }
  console.log(`\nbench/scale${QUICK ? ' --quick' : ''}, ${os.availableParallelism()} cores, ${new Date().toISOString().slice(0, 16)} UTC, ${elapsed(started)} in all\n`)
  console.log(markdownTable(['scenario', 'result', 'measured'], rows.map((r) => [r.scenario, r.result, r.measured])))
  // Logs stay when a row failed: they are what explains it.
  if (rows.some((r) => r.result === 'FAIL')) {
    console.log(`\nlogs kept in ${runDir}`)
    process.exitCode = 1
  } else {
    fs.rmSync(runDir, { recursive: true, force: true })
  }
}

async function listS3 (s3: S3Service): Promise<string[]> {
  const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
  const ids: string[] = []
  let token: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, ContinuationToken: token }))
    for (const object of page.Contents ?? []) {
      const name = object.Key?.split('/').pop() ?? ''
      if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(name)) ids.push(name)
    }
    token = page.NextContinuationToken
  } while (token)
  client.destroy()
  return ids
}

// Ctrl-C or a kill of the bench still ends every process it started and every mount.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void teardown().finally(() => process.exit(130))
  })
}

await main()
