// bench/auth: cost of authentication, measured as ratios within one run.
//   - requests/s of an API-key-authenticated GET (/api/v1/me) beside an unauthenticated
//     route (/healthz) of the same server process (aim: ratio >= 0.6);
//   - median login latency (argon2id at OWASP parameters dominates it);
//   - whether a revoked key is refused on the very next request.
// The servers run with RATE_LIMIT_ENABLED=false: this bench measures the cost of
// authentication only (the rate limiter's cost is bench/guard's), and its 15 sign-ins and
// its load would otherwise run into the login and per-key request limits.
// Usage: node bench/auth/run.ts [--seconds N] [--connections N]
// Runs on the embedded PGlite, and on PostgreSQL too when TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test) is reachable.
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import pg from 'pg'
import { median, printTable, startServer } from '../lib/server.ts'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } } })
const SECONDS = Number(values.seconds)
const CONNECTIONS = Number(values.connections)
const ROUNDS = Number(values.rounds)
const ADMIN = { email: 'bench@example.test', password: 'bench admin passphrase 2026' }

async function rps (url: string, headers: Record<string, string>, seconds: number): Promise<{ rps: number, non2xx: number }> {
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: seconds })
  return { rps: result.requests.average, non2xx: result.non2xx }
}

async function measure (label: string, env: Record<string, string>) {
  const server = await startServer({ ...env, RATE_LIMIT_ENABLED: 'false', TYMPAN_ADMIN_EMAIL: ADMIN.email, TYMPAN_ADMIN_PASSWORD: ADMIN.password })
  try {
    const logins: number[] = []
    let cookie = ''
    let csrf = ''
    for (let i = 0; i < 15; i++) {
      const started = performance.now()
      const res = await fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
      logins.push(performance.now() - started)
      if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`)
      cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
      csrf = (await res.json() as { csrfToken: string }).csrfToken
    }
    const created = await fetch(`${server.url}/api/v1/keys`, {
      method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf }, body: JSON.stringify({ name: 'bench', scopes: ['files:read'] })
    })
    const { key, id } = await created.json() as { key: string, id: string }

    // Warm up both paths, then alternate so drift in machine load hits both equally.
    await rps(`${server.url}/healthz`, {}, 1)
    await rps(`${server.url}/api/v1/me`, { 'x-api-key': key }, 1)
    const open: number[] = []
    const authed: number[] = []
    let errors = 0
    for (let round = 0; round < ROUNDS; round++) {
      const a = await rps(`${server.url}/healthz`, {}, SECONDS)
      const b = await rps(`${server.url}/api/v1/me`, { 'x-api-key': key }, SECONDS)
      open.push(a.rps)
      authed.push(b.rps)
      errors += a.non2xx + b.non2xx
    }

    await fetch(`${server.url}/api/v1/keys/${id}`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } })
    const after = await fetch(`${server.url}/api/v1/me`, { headers: { 'x-api-key': key } })

    const o = median(open)
    const k = median(authed)
    return [label, o.toFixed(0), k.toFixed(0), (k / o).toFixed(2), median(logins).toFixed(0), after.status === 401 ? 'yes (401)' : `NO (${after.status})`, String(errors)]
  } finally {
    await server.stop()
  }
}

const rows: (string | number)[][] = [['backend', 'GET /healthz req/s', 'GET /api/v1/me (API key) req/s', 'ratio (aim >= 0.6)', 'login p50 ms', 'revoked key refused next request', 'non-2xx']]
rows.push(await measure('PGlite (embedded)', {}))

const pgUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const admin = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 2000 })
const reachable = await admin.connect().then(() => true, () => false)
if (reachable) {
  const database = `bench_${randomBytes(4).toString('hex')}`
  await admin.query(`CREATE DATABASE ${database}`)
  try {
    const url = new URL(pgUrl)
    url.pathname = `/${database}`
    rows.push(await measure('PostgreSQL', { DATABASE_URL: url.toString() }))
  } finally {
    await admin.query(`DROP DATABASE ${database} WITH (FORCE)`)
    await admin.end()
  }
} else {
  console.log(`PostgreSQL at ${pgUrl} not reachable: its row is skipped`)
}

printTable(`bench/auth: ${ROUNDS} alternating rounds of ${SECONDS} s, ${CONNECTIONS} connections, medians`, rows)
