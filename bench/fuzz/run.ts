// bench/fuzz: malformed audio through the real HTTP stack (issue 14, resilience 6).
//   Valid fixtures in every allowed format (made with ffmpeg here, bench/fuzz/intake.ts) are
//   damaged by bench/fuzz/mutate.ts (byte flips, truncations, size and audio-field edits,
//   renamed chunk ids, new magic bytes, inserted and duplicated chunks, zeroed ranges) and
//   uploaded to a `tympan serve` process (embedded PGlite, its own data directory): every
//   --tus-every'th one through tus, the rest as multipart. Every accepted file gets an
//   analyze job (--jobs caps how many), and the bench waits for all of them.
//   It prints format × outcome counts, the refusals grouped by status and detail, the jobs'
//   outcomes, the time and the slowest request, and exits 1 on any defect: a 5xx, a 4xx
//   that is not a problem with a title and a detail, a server crash, a job that failed
//   without an error message or never finished.
//   --server URL sends to a server already running (another run's, started with this bench's
//   admin) instead of starting one; --from N starts at file index N, so that a second run
//   beside the first sends other files: on a busy machine two clients get more of it.
// Usage: node bench/fuzz/run.ts [--files 10000] [--seed 1] [--concurrency 4] [--tus-every 10] [--jobs N] [--from 0] [--server URL]
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { printTable, startServer } from '../lib/server.ts'
import { adminKey, allowedFormats, fixtureFormats, jobState, jobVerdict, judge, makeFixtures, submitAnalyze, uploadMultipart, uploadTus, type Answer } from './intake.ts'
import { mutate } from './mutate.ts'

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '4' },
    'tus-every': { type: 'string', default: '10' },
    jobs: { type: 'string' },
    from: { type: 'string', default: '0' },
    server: { type: 'string' },
    // Jobs still unfinished when none has finished for this long are stuck.
    'job-wait-seconds': { type: 'string', default: '900' }
  }
})
const FILES = Number(values.files)
const FROM = Number(values.from)
const SEED = Number(values.seed)
const CONCURRENCY = Number(values.concurrency)
const TUS_EVERY = Number(values['tus-every'])
const MAX_JOBS = values.jobs === undefined ? Number.POSITIVE_INFINITY : Number(values.jobs)
const JOB_WAIT_MS = Number(values['job-wait-seconds']) * 1000
const ADMIN = { email: 'fuzz@example.test', password: 'fuzz bench admin passphrase 2026' }
const HUGE = '100000000'

const missing = allowedFormats().filter((format) => !fixtureFormats().includes(format))
if (missing.length > 0) throw new Error(`no fixture for the allowed format(s) ${missing.join(', ')}: add one to bench/fuzz/intake.ts`)

const fixtureDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-fuzz-'))
const fixtures = makeFixtures(fixtureDir)
console.log(`fixtures: ${fixtures.map((f) => `${f.label} (${f.bytes.length} B)`).join(', ')}`)

const external = values.server
const server = external ? undefined : await startServer({
  TYMPAN_ADMIN_EMAIL: ADMIN.email,
  TYMPAN_ADMIN_PASSWORD: ADMIN.password,
  LOG_LEVEL: 'error',
  // Failed jobs fail at once: a retry of a damaged file fails the same way, only later.
  JOB_RETRY_LIMIT: '0',
  JOBS_MAX_UNFINISHED_ENTERPRISE: HUGE,
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
  RATE_LIMIT_ENTERPRISE_REQUESTS: HUGE,
  RATE_LIMIT_UPLOADS_ENTERPRISE: HUGE,
  RATE_LIMIT_LOGIN_PER_IP: HUGE,
  RATE_LIMIT_LOGIN_PER_ACCOUNT: HUGE
}, 300_000)
let crashed = ''
server?.child.once('exit', (code, signal) => { crashed = `server exited (code ${code}, signal ${signal})` })
const base = external ?? server!.url
const key = await adminKey(base, ADMIN.email, ADMIN.password)

// --- uploads ---------------------------------------------------------------------------

type Outcome = 'accepted' | 'refused' | 'defect'
const byFixture = new Map<string, Record<Outcome, number>>(fixtures.map((f) => [f.label, { accepted: 0, refused: 0, defect: 0 }]))
const byKind = new Map<string, Record<Outcome, number>>()
const groups = new Map<string, number>()
const defects: string[] = []
const jobIds: { id: string, what: string }[] = []
const jobSubmitDefects: string[] = []
let slowest = { ms: 0, what: '' }
const via = { multipart: 0, tus: 0 }
const started = performance.now()

async function one (index: number): Promise<void> {
  const fixture = fixtures[index % fixtures.length]!
  const seed = SEED * 1_000_003 + index
  const { bytes, description, kind } = mutate(fixture.bytes, seed)
  const tus = TUS_EVERY > 0 && index % TUS_EVERY === 0
  const what = `#${index} ${fixture.label} seed ${seed} via ${tus ? 'tus' : 'multipart'}: ${description}`
  let answer: Answer
  try {
    answer = await (tus ? uploadTus : uploadMultipart)(base, key, fixture.name, bytes)
  } catch (error) {
    answer = { status: 0, contentType: '', body: `request failed: ${(error as Error).message}`, ms: 0 }
  }
  via[tus ? 'tus' : 'multipart']++
  if (answer.ms > slowest.ms) slowest = { ms: answer.ms, what: `${what} → ${answer.status}` }
  const verdict = judge(answer)
  byFixture.get(fixture.label)![verdict.outcome]++
  const counts = byKind.get(kind) ?? { accepted: 0, refused: 0, defect: 0 }
  counts[verdict.outcome]++
  byKind.set(kind, counts)
  if (verdict.outcome === 'refused') groups.set(verdict.group, (groups.get(verdict.group) ?? 0) + 1)
  if (verdict.outcome === 'defect') {
    defects.push(`${what} → ${verdict.reason}`)
    console.log(`DEFECT ${defects.at(-1)!}`)
  }
  if (verdict.outcome === 'accepted' && jobIds.length + jobSubmitDefects.length < MAX_JOBS) {
    const job = await submitAnalyze(base, key, verdict.fileId)
    if (job.id) jobIds.push({ id: job.id, what })
    else jobSubmitDefects.push(`${what} → job ${job.status} ${job.body.slice(0, 200)}`)
  }
}

// SIGINT or SIGTERM ends the uploads early: the jobs already submitted are still waited for
// and the report covers the files sent so far.
let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { interrupted = true })

let next = 0
let done = 0
async function lane (): Promise<void> {
  while (next < FILES && !crashed && !interrupted) {
    await one(FROM + next++)
    if (++done % 500 === 0) console.log(`  ${done}/${FILES} uploads, ${defects.length} defects, ${((performance.now() - started) / 1000).toFixed(0)} s`)
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, lane))
const uploadSeconds = (performance.now() - started) / 1000

// --- jobs ------------------------------------------------------------------------------

const jobOutcomes = { succeeded: 0, 'failed cleanly': 0, defect: 0 }
const jobDefects: string[] = [...jobSubmitDefects]
const jobErrors = new Map<string, number>()
let pending = [...jobIds]
const waitStarted = performance.now()
let lastFinishedAt = performance.now()
// The wait ends when every job has finished, or when none has for --job-wait-seconds: then
// the queue has stopped moving, and what is left is stuck.
while (pending.length > 0 && !crashed && performance.now() - lastFinishedAt < JOB_WAIT_MS) {
  const still: typeof pending = []
  for (const job of pending) {
    const state = await jobState(base, key, job.id)
    const verdict = jobVerdict(state)
    if (!verdict) still.push(job)
    else {
      jobOutcomes[verdict]++
      if (verdict === 'failed cleanly') jobErrors.set(state.error!.slice(0, 100), (jobErrors.get(state.error!.slice(0, 100)) ?? 0) + 1)
      if (verdict === 'defect') jobDefects.push(`${job.what} → job ${state.status}: ${String(state.error)}`)
    }
  }
  if (still.length < pending.length) lastFinishedAt = performance.now()
  pending = still
  if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 2000))
}
for (const job of pending) jobDefects.push(`${job.what} → job ${job.id} never finished`)
const jobWaitSeconds = (performance.now() - waitStarted) / 1000
const totalSeconds = (performance.now() - started) / 1000

// --- report ----------------------------------------------------------------------------

const total = (field: Outcome) => [...byFixture.values()].reduce((sum, c) => sum + c[field], 0)
printTable(`fuzz: ${done} mutated files (indices ${FROM}–${FROM + next - 1})${interrupted ? ` (interrupted, of ${FILES})` : ''} (seed ${SEED}; ${via.multipart} multipart, ${via.tus} tus), by fixture`, [
  ['fixture', 'accepted', 'refused 4xx', 'defect (5xx, unclear 4xx, no answer)'],
  ...fixtures.map((f) => { const c = byFixture.get(f.label)!; return [f.label, c.accepted, c.refused, c.defect] }),
  ['total', total('accepted'), total('refused'), total('defect')]
])
printTable('by first mutation', [['mutation', 'accepted', 'refused 4xx', 'defect'], ...[...byKind.entries()].sort().map(([kind, c]) => [kind, c.accepted, c.refused, c.defect])])
printTable('refusals, grouped by status and detail (numbers as N)', [['count', 'status and detail'], ...[...groups.entries()].sort((a, b) => b[1] - a[1]).map(([group, count]) => [count, group])])
printTable(`analyze jobs (${jobIds.length + jobSubmitDefects.length} submitted, one per accepted file${Number.isFinite(MAX_JOBS) ? ` up to ${MAX_JOBS}` : ''})`, [
  ['outcome', 'count'], ...Object.entries(jobOutcomes), ['never finished (stuck)', pending.length]
])
if (jobErrors.size > 0) printTable('failed jobs, by error', [['count', 'error'], ...[...jobErrors.entries()].sort((a, b) => b[1] - a[1]).map(([error, count]) => [count, error])])
console.log(`\nuploads: ${uploadSeconds.toFixed(0)} s (${(done / uploadSeconds).toFixed(1)} files/s at concurrency ${CONCURRENCY}); then ${jobWaitSeconds.toFixed(0)} s for the last jobs; total ${totalSeconds.toFixed(0)} s`)
console.log(`slowest upload request: ${slowest.ms.toFixed(0)} ms (${slowest.what})`)
if (external && !crashed) crashed = await fetch(`${base}/healthz`).then((res) => res.ok ? '' : `server answers /healthz with ${res.status}`, (error: Error) => `server unreachable: ${error.message}`)
console.log(`server: ${crashed || 'alive to the end'}`)
const allDefects = [...defects, ...jobDefects, ...(crashed ? [crashed] : [])]
for (const defect of allDefects.slice(0, 50)) console.log(`DEFECT ${defect}`)
console.log(`verdict: ${allDefects.length === 0 ? 'PASS: no 5xx, no crash, every refusal a 4xx problem, every job finished (succeeded or failed with an error)' : `FAIL: ${allDefects.length} defect(s)`}`)

if (server && !crashed) await server.stop()
fs.rmSync(fixtureDir, { recursive: true, force: true })
process.exitCode = allDefects.length === 0 ? 0 : 1
