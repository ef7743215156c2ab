// bench/soak: a long mixed load on one `tympan serve` process (issue 14, resilience 7), to see
// that memory and file descriptors stay flat.
//   The server is the embedded default (PGlite, local files, in-process workers) on its own
//   data directory. Lanes run side by side for --minutes: uploads (multipart, every fifth
//   via tus, every tenth a damaged file that is refused), analyze jobs followed over SSE
//   (half the streams read to the end, half closed early), downloads with Range, cookie
//   sign-ins with /me and sign-out, and API keys created, used and revoked. Old files and
//   jobs are deleted as new ones come, so the data stays the same size.
//   Every 10 s it samples the server's RSS (/proc/<pid>/status), V8 heap used (its own
//   /metrics, with METRICS_TOKEN) and open file descriptors (/proc/<pid>/fd).
// Verdict "flat", per measure (bench/soak/verdict.ts): after warm-up (the first 20%, at
// least 1 minute), the last 20% of the samples against the first 20%: RSS median at most
// 15% higher, V8 heap floor (lowest sample: the live set after a major collection) at most
// 15% higher, fds median at most 8 more. Any 5xx or a server exit fails the run too.
// --from-log FILE applies the verdict again to the samples a run printed, and exits.
// Usage: node bench/soak/run.ts [--minutes 30] [--sample-seconds 10] [--from-log FILE]
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'
import { printTable, rssBytes, startServer } from '../lib/server.ts'
import { adminKey, makeFixtures, uploadMultipart, uploadTus } from '../fuzz/intake.ts'
import { mutate } from '../fuzz/mutate.ts'
import { flatness, samplesFromLog, type Sample } from './verdict.ts'

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '30' }, 'sample-seconds': { type: 'string', default: '10' }, 'from-log': { type: 'string' } } })
const MINUTES = Number(values.minutes)
const SAMPLE_MS = Number(values['sample-seconds']) * 1000
const ADMIN = { email: 'soak@example.test', password: 'soak bench admin passphrase 2026' }
const METRICS_TOKEN = randomBytes(24).toString('base64url')
const HUGE = '100000000'
const MiB = 1024 * 1024

/** Prints the start/end/peak table and returns whether every measure is flat. */
function report (samples: Sample[], runSeconds: number, sampleSeconds: number): boolean {
  const { warmUpSec, window, verdicts } = flatness(samples, runSeconds)
  const show = (measure: string, v: number) => measure === 'fds' ? v.toFixed(0) : (v / MiB).toFixed(1)
  const labels: Record<string, string> = { rss: 'RSS (MiB), medians', heap: 'V8 heap used (MiB), floors', fds: 'open fds, medians' }
  printTable(`soak: ${(runSeconds / 60).toFixed(0)} min, ${samples.length} samples every ${sampleSeconds} s (warm-up ${(warmUpSec / 60).toFixed(1)} min; windows of ${window} samples)`, [
    ['measure', 'start', 'after warm-up', 'end', 'peak', 'end / after warm-up', 'verdict'],
    ...verdicts.map((v) => [labels[v.measure]!, show(v.measure, v.start), show(v.measure, v.baseline), show(v.measure, v.end), show(v.measure, v.peak), (v.end / v.baseline).toFixed(3), v.flat ? 'flat' : 'GROWING'])
  ])
  return verdicts.every((v) => v.flat)
}

if (values['from-log']) {
  const logged = samplesFromLog(fs.readFileSync(values['from-log'], 'utf8'))
  const flat = report(logged, MINUTES * 60, Number(values['sample-seconds']))
  console.log(`verdict: ${flat ? 'flat' : 'GROWING'} (from ${logged.length} logged samples)`)
  process.exit(flat ? 0 : 1)
}

const fixtureDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-soak-'))
const fixtures = makeFixtures(fixtureDir, 2)
fs.rmSync(fixtureDir, { recursive: true, force: true })

const server = await startServer({
  TYMPAN_ADMIN_EMAIL: ADMIN.email,
  TYMPAN_ADMIN_PASSWORD: ADMIN.password,
  METRICS_TOKEN,
  LOG_LEVEL: 'error',
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
  JOBS_MAX_UNFINISHED_ENTERPRISE: HUGE,
  RATE_LIMIT_ENTERPRISE_REQUESTS: HUGE,
  RATE_LIMIT_UPLOADS_ENTERPRISE: HUGE,
  RATE_LIMIT_LOGIN_PER_IP: HUGE,
  RATE_LIMIT_LOGIN_PER_ACCOUNT: HUGE
}, 300_000)
const base = server.url
const pid = server.child.pid!
let exited = ''
server.child.once('exit', (code, signal) => { exited = `server exited (code ${code}, signal ${signal})` })
const key = await adminKey(base, ADMIN.email, ADMIN.password)
const auth = { 'x-api-key': key }

// --- bookkeeping -----------------------------------------------------------------------

const statuses = new Map<string, number>()
const serverErrors: string[] = []
function count (lane: string, status: number, detail = '') {
  const label = `${lane} ${status}`
  statuses.set(label, (statuses.get(label) ?? 0) + 1)
  if ((status >= 500 || status === 0) && serverErrors.length < 50) serverErrors.push(`${label} ${detail.slice(0, 200)}`)
}
const deadline = Date.now() + MINUTES * 60_000
const running = () => Date.now() < deadline && !exited
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function call (lane: string, url: string, init: RequestInit = {}): Promise<Response | undefined> {
  try {
    const res = await fetch(`${base}${url}`, init)
    if (res.status >= 500) count(lane, res.status, await res.text())
    else count(lane, res.status)
    return res
  } catch (error) {
    count(lane, 0, (error as Error).message)
    return undefined
  }
}

// Files the other lanes work on; the oldest are deleted as new ones arrive.
const files: { id: string, size: number }[] = []
const KEEP_FILES = 12

// --- lanes -----------------------------------------------------------------------------

async function uploads () {
  for (let i = 0; running(); i++) {
    const fixture = fixtures[i % fixtures.length]!
    const damaged = i % 10 === 9
    const bytes = damaged ? mutate(fixture.bytes, i).bytes : fixture.bytes
    try {
      const answer = await (i % 5 === 0 ? uploadTus : uploadMultipart)(base, key, fixture.name, bytes)
      count('upload', answer.status, answer.body)
      if (answer.fileId) files.push({ id: answer.fileId, size: bytes.length })
    } catch (error) {
      count('upload', 0, (error as Error).message)
    }
    while (files.length > KEEP_FILES) {
      const old = files.shift()!
      const res = await call('delete file', `/api/v1/files/${old.id}`, { method: 'DELETE', headers: auth })
      await res?.arrayBuffer()
    }
    await pause(500)
  }
}

async function jobs () {
  const done: string[] = []
  for (let i = 0; running(); i++) {
    const file = files.at(-1)
    if (!file) {
      await pause(500)
      continue
    }
    const created = await call('job', '/api/v1/jobs', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'analyze', fileId: file.id }) })
    if (created?.status !== 202) {
      await created?.arrayBuffer()
      await pause(500)
      continue
    }
    const { id } = await created.json() as { id: string }
    // Half the streams are read until `done`, half are closed after the first chunk.
    const abort = new AbortController()
    const events = await call('sse', `/api/v1/jobs/${id}/events`, { headers: auth, signal: abort.signal })
    if (events?.body) {
      try {
        if (i % 2 === 0) await events.text()
        else {
          const reader = events.body.getReader()
          await reader.read()
          abort.abort()
        }
      } catch { /* closed early on purpose */ }
    }
    done.push(id)
    while (done.length > 20) {
      const old = done.shift()!
      // A job closed early may still be running; a 409 for it is an answer, not a fault.
      const res = await call('delete job', `/api/v1/jobs/${old}`, { method: 'DELETE', headers: auth })
      await res?.arrayBuffer()
    }
    await pause(1000)
  }
}

async function downloads () {
  for (let i = 0; running(); i++) {
    const file = files[i % Math.max(1, files.length)]
    if (!file) {
      await pause(500)
      continue
    }
    const start = (i * 7919) % file.size
    const range = i % 4 === 0 ? undefined : `bytes=${start}-${Math.min(file.size - 1, start + (i % 3) * 4096 + 1023)}`
    const res = await call('download', `/api/v1/files/${file.id}/content`, { headers: { ...auth, ...(range ? { range } : {}) } })
    await res?.arrayBuffer()
    await pause(200)
  }
}

async function signIns () {
  while (running()) {
    const login = await call('sign-in', '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
    if (login?.status === 200) {
      const { csrfToken } = await login.json() as { csrfToken: string }
      const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
      const me = await call('me', '/api/v1/me', { headers: { cookie } })
      await me?.arrayBuffer()
      const out = await call('sign-out', '/api/v1/auth/logout', { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken } })
      await out?.arrayBuffer()
    } else await login?.arrayBuffer()
    await pause(2000)
  }
}

async function keys () {
  while (running()) {
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...ADMIN, tokens: true }) })
    const { accessToken } = await login.json() as { accessToken: string }
    const bearer = { authorization: `Bearer ${accessToken}` }
    const created = await call('key create', '/api/v1/keys', { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'soak', scopes: ['files:read'] }) })
    if (created?.status === 201) {
      const { id, key: secret } = await created.json() as { id: string, key: string }
      for (let i = 0; i < 5; i++) {
        const used = await call('key use', '/api/v1/files?limit=5', { headers: { 'x-api-key': secret } })
        await used?.arrayBuffer()
      }
      const revoked = await call('key revoke', `/api/v1/keys/${id}`, { method: 'DELETE', headers: bearer })
      await revoked?.arrayBuffer()
      const refused = await call('revoked key use', '/api/v1/files?limit=5', { headers: { 'x-api-key': secret } })
      await refused?.arrayBuffer()
    } else await created?.arrayBuffer()
    await pause(3000)
  }
}

// --- sampling --------------------------------------------------------------------------

const samples: Sample[] = []
const started = Date.now()

async function heapUsed (): Promise<number> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  const text = await res.text()
  const match = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text)
  return match ? Number(match[1]) : NaN
}

async function sample () {
  try {
    samples.push({ at: (Date.now() - started) / 1000, rss: rssBytes(pid), heap: await heapUsed(), fds: fs.readdirSync(`/proc/${pid}/fd`).length })
    const last = samples.at(-1)!
    console.log(`  ${(last.at / 60).toFixed(1)} min: rss ${(last.rss / MiB).toFixed(1)} MiB, heap ${(last.heap / MiB).toFixed(1)} MiB, fds ${last.fds}`)
  } catch (error) {
    console.log(`  sample failed: ${(error as Error).message}`)
  }
}

await sample()
const sampler = setInterval(() => { void sample() }, SAMPLE_MS)
await Promise.all([uploads(), jobs(), downloads(), signIns(), keys()])
clearInterval(sampler)
await sample()

// --- verdict ---------------------------------------------------------------------------

const allFlat = report(samples, MINUTES * 60, SAMPLE_MS / 1000)
printTable('requests by lane and status', [['lane status', 'count'], ...[...statuses.entries()].sort().map(([label, n]) => [label, n])])
console.log(`server: ${exited || 'alive to the end'}`)
for (const error of serverErrors) console.log(`ERROR ${error}`)
const pass = allFlat && serverErrors.length === 0 && !exited
console.log(`verdict: ${pass ? 'PASS: memory and file descriptors flat, no 5xx' : 'FAIL'}`)
if (!exited) await server.stop()
process.exitCode = pass ? 0 : 1
