// bench/guard: cost and accuracy of the request guard, measured within one run.
//   1. Throughput: requests/s of an API-key-authenticated GET /api/v1/me on Tympan started
//      as an operator would (the whole stack: metrics, request id, security headers, CORS,
//      load shedding, rate limiting with an enterprise budget too large to run out, API-key
//      authentication and authorization) beside the same route on a minimal Fastify server
//      with none of it (bench/guard/bare-server.ts, same JSON body). Alternating rounds,
//      medians (aim: ratio >= 0.6; /healthz >= 0.85). Unless --headline-only, two more
//      Tympan rows show where the time goes: the same with RATE_LIMIT_ENABLED=false, and
//      GET /healthz (public and exempt from rate limits: only the hooks every request pays),
//      both against the same baseline. Tympan logs at info: its line per request is counted. The throughput servers use the embedded PGlite and the in-memory limiter.
//      A floor row (bare-server.ts --headers --log) is bare Fastify sending the response headers
//      Tympan sent and writing a log line like Tympan's: what those alone cost any Fastify
//      server. Each Tympan row's ratio to the floor is what Tympan's own work costs.
//      Beside req/s, each server's own CPU time per request (/proc/<pid>/stat) is shown: on
//      a shared machine it is steadier than req/s. bench/guard/profile.ts breaks it down.
//   2. 429 accuracy: two Tympan processes on one PostgreSQL database and one private Redis
//      (redis-server on a free port, no persistence, so nothing else touches its counters),
//      RATE_LIMIT_REQUESTS=<budget> per RATE_LIMIT_WINDOW=3600 s (the window cannot roll
//      over during the test) with RATE_LIMIT_BURST=0. A free-tier member's API key is sent
//      <overload> x budget times by <clients> concurrent connections, half against each
//      process, as fast as they go; the 200s must be within 1% of the budget.
// Usage: node bench/guard/run.ts [--seconds N] [--rounds N] [--connections N] [--headline-only]
//                                [--budget N] [--clients N] [--overload N] [--skip-accuracy]
// Defaults: 3 rounds of 5 s with 10 connections; budget 2000, 200 clients, 3 x budget.
// Needs redis-server on PATH and PostgreSQL at TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test), where a throw-away database is created and dropped.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import pg from 'pg'
import { cpuMicros, freePort, median, printTable, startScript, startServer, type RunningServer } from '../lib/server.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    budget: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '200' },
    overload: { type: 'string', default: '3' },
    'headline-only': { type: 'boolean', default: false },
    'skip-accuracy': { type: 'boolean', default: false }
  }
})
const SECONDS = Number(values.seconds)
const ROUNDS = Number(values.rounds)
const CONNECTIONS = Number(values.connections)
const BUDGET = Number(values.budget)
const CLIENTS = Number(values.clients)
const OVERLOAD = Number(values.overload)
const ISOLATE = !values['headline-only']
// Tympan's many code paths take V8 several seconds to optimise: shorter, and the first round reads low.
const WARMUP = 8
const ADMIN = { email: 'bench@example.test', password: 'bench admin passphrase 2026' }
const MEMBER = { email: 'member@example.test', password: 'bench member passphrase 2026' }
const MEMBER_PASSWORD = 'bench member own passphrase 2026'
const ADMIN_ENV = { TYMPAN_ADMIN_EMAIL: ADMIN.email, TYMPAN_ADMIN_PASSWORD: ADMIN.password }

// --- helpers -------------------------------------------------------------------------

interface Session { cookie: string, csrf: string }

async function login (url: string, who: { email: string, password: string }): Promise<Session> {
  const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who) })
  if (!res.ok) throw new Error(`login as ${who.email} failed: ${res.status} ${await res.text()}`)
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  const { csrfToken } = await res.json() as { csrfToken: string }
  return { cookie, csrf: csrfToken }
}

async function post<T> (url: string, session: Session, body: unknown): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', cookie: session.cookie, 'x-csrf-token': session.csrf }, body: JSON.stringify(body) })
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`)
  return await res.json() as T
}

const createKey = async (url: string, session: Session): Promise<string> =>
  (await post<{ key: string }>(`${url}/api/v1/keys`, session, { name: 'bench', scopes: ['files:read'] })).key

async function rps (url: string, headers: Record<string, string>, seconds: number): Promise<{ rps: number, total: number, non2xx: number, errors: number }> {
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: seconds })
  return { rps: result.requests.average, total: result.requests.total, non2xx: result.non2xx, errors: result.errors }
}

/** The machine's CPU time by state (user, nice, system, idle, iowait, irq, softirq, steal…), from /proc/stat. */
const machineTicks = (): number[] => fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)

/** A redis-server of our own on a free port, without persistence; resolves once it answers PING. */
async function startRedis (): Promise<{ url: string, stop: () => Promise<void> }> {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'ignore', 'inherit'] })
  let failed: Error | undefined
  child.once('error', (error) => { failed = error })
  const ping = () => new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('error', () => resolve(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => {
      socket.end()
      resolve(data.toString().startsWith('+PONG'))
    })
  })
  const deadline = Date.now() + 10_000
  while (!(await ping())) {
    if (failed) throw new Error(`cannot run redis-server: ${failed.message}`)
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`)
    if (Date.now() > deadline) {
      child.kill('SIGTERM')
      throw new Error('redis-server did not start')
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('exit', resolve))
    }
  }
}

// --- 1. throughput -------------------------------------------------------------------

interface Target { label: string, url: string, headers: Record<string, string>, pid: number }

// Set by Node or Fastify on every answer, bare or not; X-Request-Id the floor makes itself.
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'content-type', 'x-request-id'])

/** Tympan as an operator starts it, with an API key of the bootstrap admin (enterprise tier). */

async function tympanTarget (label: string, env: Record<string, string>, route: '/api/v1/me' | '/healthz', strict = false): Promise<{ server: RunningServer, target: Target, body: string, responseHeaders: Record<string, string> }> {
  // The enterprise budget, which the admin's keys inherit, is far above what the rounds can
  // send: the limiter does all its work and never refuses.
  // LOG_LEVEL=info: the one line per request (src/http/request-log.ts) is part of the cost an
  // operator pays, so it is part of what is measured (written to stdout, here /dev/null).
  const server = await startServer({ ...ADMIN_ENV, RATE_LIMIT_ENTERPRISE_REQUESTS: '1000000000', LOG_LEVEL: 'info', ...env })
  try {
    const headers: Record<string, string> = route === '/api/v1/me' ? { 'x-api-key': await createKey(server.url, await login(server.url, ADMIN)) } : {}
    const probe = await fetch(`${server.url}${route}`, { headers })
    const body = await probe.text()
    if (probe.status !== 200) throw new Error(`GET ${route}: ${probe.status} ${body}`)
    // Each of these headers comes from one part of the stack: it really is in the path.
    const expected = ['x-request-id', 'content-security-policy', 'permissions-policy', 'vary', 'ratelimit-limit', 'cache-control']
    const missing = expected.filter((name) => !probe.headers.has(name))
    if (strict && missing.length) throw new Error(`${label}: the answer lacks ${missing.join(', ')}: is part of the stack switched off?`)
    console.log(`${label}: ${[...probe.headers.keys()].length} response headers, ratelimit-limit ${probe.headers.get('ratelimit-limit') ?? 'none'}` +
      (missing.length ? ` (without ${missing.join(', ')})` : ''))
    const responseHeaders = Object.fromEntries([...probe.headers].filter(([name]) => !TRANSPORT_HEADERS.has(name)))
    return { server, target: { label, url: `${server.url}${route}`, headers, pid: server.child.pid! }, body, responseHeaders }
  } catch (error) {
    await server.stop()
    throw error
  }
}

async function throughput (): Promise<(string | number)[][]> {
  const servers: RunningServer[] = []
  const scripts: Awaited<ReturnType<typeof startScript>>[] = []
  try {
    const full = await tympanTarget('whole stack: GET /api/v1/me, API key', {}, '/api/v1/me', true)
    servers.push(full.server)
    const targets = [full.target]
    if (ISOLATE) {
      // Where the time goes: the same without the rate limiter, and the hooks that every
      // request pays (a public route exempt from rate limits: no authentication, no limiter).
      for (const [label, env, route] of [
        ['same, RATE_LIMIT_ENABLED=false', { RATE_LIMIT_ENABLED: 'false' }, '/api/v1/me'],
        ['whole stack: GET /healthz (no auth, exempt from limits)', {}, '/healthz']
      ] as const) {
        const variant = await tympanTarget(label, env, route)
        servers.push(variant.server)
        targets.push(variant.target)
      }
    }

    // The floor: bare Fastify sending Tympan's response headers and writing its log line.
    const floorPort = await freePort()
    const floor = await startScript(path.join(import.meta.dirname, 'bare-server.ts'), [String(floorPort), full.body, '--headers', JSON.stringify(full.responseHeaders), '--log'])
    scripts.push(floor)
    const floorTarget: Target = { label: `floor: bare Fastify + the same ${Object.keys(full.responseHeaders).length + 1} headers + a log line`, url: `http://127.0.0.1:${floorPort}/api/v1/me`, headers: {}, pid: floor.child.pid! }
    targets.push(floorTarget)
    const barePort = await freePort()
    const bare = await startScript(path.join(import.meta.dirname, 'bare-server.ts'), [String(barePort), full.body])
    scripts.push(bare)
    const baseline: Target = { label: 'bare Fastify', url: `http://127.0.0.1:${barePort}/api/v1/me`, headers: {}, pid: bare.child.pid! }
    for (const target of [floorTarget, baseline]) {
      if ((await (await fetch(target.url)).text()) !== full.body) throw new Error(`${target.label} answers a different body`)
    }

    // Warm up every server (JIT, caches), then alternate, reversing the order every other
    // round, so that drift in machine load hits every server alike.
    const all = [...targets, baseline]
    for (const target of all) await rps(target.url, target.headers, WARMUP)
    const samples = all.map(() => [] as number[])
    const failures = all.map(() => 0)
    // The servers' own CPU time per request: unlike req/s, it hardly depends on what else
    // the machine is doing.
    const cpu = all.map(() => ({ micros: 0, requests: 0 }))
    const machineBefore = machineTicks()
    for (let round = 1; round <= ROUNDS; round++) {
      const order = all.map((_, i) => i)
      if (round % 2 === 0) order.reverse()
      for (const i of order) {
        const before = cpuMicros(all[i]!.pid)
        const result = await rps(all[i]!.url, all[i]!.headers, SECONDS)
        cpu[i]!.micros += cpuMicros(all[i]!.pid) - before
        cpu[i]!.requests += result.total
        samples[i]!.push(result.rps)
        failures[i]! += result.non2xx + result.errors
      }
      console.log(`round ${round}/${ROUNDS} req/s (table rows, then bare): ${samples.map((values) => values[round - 1]!.toFixed(0)).join(' | ')}`)
    }
    const machine = machineTicks().map((ticks, i) => ticks - (machineBefore[i] as number))
    const ticks = machine.reduce((a, b) => a + b, 0)
    // On a virtual machine, time the host gave to other guests: high steal means noisy req/s.
    const [idle, iowait, steal] = [machine[3] ?? 0, machine[4] ?? 0, machine[7] ?? 0]
    console.log(`machine during the rounds: CPUs ${(100 * (ticks - idle - iowait - steal) / ticks).toFixed(0)} % busy, ${(100 * steal / ticks).toFixed(1)} % stolen by the host`)
    const baselineSamples = samples.at(-1)!
    const b = median(baselineSamples)
    const cpuPerRequest = cpu.map(({ micros, requests }) => micros / requests)
    const bareCpu = cpuPerRequest.at(-1)!
    if (failures.at(-1)) console.log(`bare Fastify: ${failures.at(-1)} non-2xx + errors`)
    const floorIndex = targets.indexOf(floorTarget)
    const floorSamples = samples[floorIndex]!
    return targets.map((target, i) => {
      const t = median(samples[i]!)
      const perRound = samples[i]!.map((value, round) => (value / (baselineSamples[round] as number)).toFixed(2))
      const toFloor = i === floorIndex ? '' : median(samples[i]!.map((value, round) => value / (floorSamples[round] as number))).toFixed(2)
      return [target.label, t.toFixed(0), b.toFixed(0), (t / b).toFixed(2), perRound.join(' '), toFloor,
        `${cpuPerRequest[i]!.toFixed(0)} vs ${bareCpu.toFixed(0)} (${(bareCpu / cpuPerRequest[i]!).toFixed(2)})`, failures[i]!]
    })
  } finally {
    for (const script of scripts) await script.stop()
    for (const server of servers) await server.stop()
  }
}

// --- 2. 429 accuracy -----------------------------------------------------------------

async function accuracy (databaseUrl: string): Promise<(string | number)[]> {
  const redis = await startRedis()
  const servers: RunningServer[] = []
  try {
    const env = {
      ...ADMIN_ENV,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      RATE_LIMIT_REQUESTS: String(BUDGET),
      RATE_LIMIT_WINDOW: '3600',
      RATE_LIMIT_BURST: '0'
    }
    // One after the other: the first migrates the new database (and creates the admin)
    // before the second opens it.
    servers.push(await startServer(env))
    servers.push(await startServer(env))
    const [a, b] = servers as [RunningServer, RunningServer]

    const admin = await login(a.url, ADMIN)
    await post(`${a.url}/api/v1/admin/users`, admin, { ...MEMBER, role: 'member', tier: 'free' })
    // The key is created with the member's session (counted as user:<id>, not against the
    // key), and is not used before the flood: all of its budget is left for it.
    // An account an admin creates has a one-time password: the member sets its own first.
    const onetime = await login(b.url, MEMBER)
    await post(`${b.url}/api/v1/me/password`, onetime, { currentPassword: MEMBER.password, newPassword: MEMBER_PASSWORD })
    const member = await login(b.url, { email: MEMBER.email, password: MEMBER_PASSWORD })
    const me = await (await fetch(`${b.url}/api/v1/me`, { headers: { cookie: member.cookie } })).json() as { user: { tier: string } }
    if (me.user.tier !== 'free') throw new Error(`the member is on the ${me.user.tier} tier, not free`)
    const key = await createKey(b.url, member)

    const total = OVERLOAD * BUDGET
    const perServer = [Math.ceil(total / 2), Math.floor(total / 2)]
    const perClients = [Math.ceil(CLIENTS / 2), Math.floor(CLIENTS / 2)]
    const started = performance.now()
    const results = await Promise.all([a, b].map((server, i) => autocannon({
      url: `${server.url}/api/v1/me`,
      headers: { 'x-api-key': key },
      connections: perClients[i] as number,
      amount: perServer[i] as number,
      timeout: 30
    })))
    const elapsed = (performance.now() - started) / 1000

    let allowed = 0
    let refused = 0
    let other = 0
    let sent = 0
    for (const result of results) {
      for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
        const count = stat.count ?? 0
        sent += count
        if (code === '200') allowed += count
        else if (code === '429') refused += count
        else other += count
      }
      other += result.errors
    }
    console.log(`${sent} responses from ${CLIENTS} connections (${perClients.join(' + ')}) in ${elapsed.toFixed(1)} s; per server 200/429: ` +
      results.map((r) => `${r.statusCodeStats?.['200']?.count ?? 0}/${r.statusCodeStats?.['429']?.count ?? 0}`).join(', '))
    const errorPct = (100 * Math.abs(allowed - BUDGET)) / BUDGET
    return [BUDGET, allowed, refused, other, `${errorPct.toFixed(2)} %`]
  } finally {
    for (const server of servers.reverse()) await server.stop()
    await redis.stop()
  }
}

// --- run -----------------------------------------------------------------------------

const ACCURACY = !values['skip-accuracy']
const pgUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const pgAdmin = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 2000 })
// Before the long throughput part, so that a missing database fails the run at once.
if (ACCURACY) {
  await pgAdmin.connect().catch((error: unknown) => {
    throw new Error(`PostgreSQL at ${pgUrl} is needed for the 429 accuracy part (two processes cannot share PGlite): ${String(error)}`)
  })
}

const speed = await throughput()
// Printed at once: the accuracy part takes longer and needs more (Redis, PostgreSQL).
printTable(`bench/guard throughput: ${ROUNDS} alternating rounds of ${SECONDS} s, ${CONNECTIONS} connections, medians; baseline: bare Fastify GET /api/v1/me`, [
  ['stack', 'req/s', 'baseline req/s', 'ratio (aim >= 0.6, /healthz >= 0.85)', 'ratio in each round', 'ratio to the floor', 'server CPU µs/req vs baseline (ratio)', 'non-2xx + errors'],
  ...speed
])

if (ACCURACY) {
  const database = `bench_guard_${randomBytes(4).toString('hex')}`
  await pgAdmin.query(`CREATE DATABASE ${database}`)
  let limits: (string | number)[]
  try {
    const url = new URL(pgUrl)
    url.pathname = `/${database}`
    limits = await accuracy(url.toString())
  } finally {
    await pgAdmin.query(`DROP DATABASE ${database} WITH (FORCE)`)
  }
  printTable(`bench/guard 429 accuracy: 2 processes, shared Redis, ${CLIENTS} concurrent clients, ${OVERLOAD * BUDGET} requests (${OVERLOAD} x budget) for one free-tier API key`, [
    ['budget', 'allowed', 'refused 429', 'other', 'error % (aim <= 1%)'],
    limits
  ])
  await pgAdmin.end()
}
