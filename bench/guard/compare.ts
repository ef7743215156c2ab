// bench/guard/compare.ts: two Tympan trees in one run, so that a change to the request path
// is measured against what it replaces on the same machine at the same time (req/s on a
// shared machine drift between runs far more than between alternating rounds).
// GET /api/v1/me (API key) and GET /healthz on each tree, and the bare baseline
// (bare-server.ts), in alternating rounds; medians, ratios to bare, server CPU per request.
// Usage: node bench/guard/compare.ts --before DIR [--rounds N] [--seconds N] [--connections N] [--rate N]
// --rate N sends N requests/s to each server instead of as many as it takes: every server then
// does the same work at the same pace, and the CPU per request compares them even on a machine
// too busy for the req/s ratios to mean much (those then only say whether each kept up).
// DIR is another checkout (e.g. `git archive <commit> | tar -x -C DIR`, with node_modules
// linked); "after" is this checkout. Both log at info, as bench/guard/run.ts does.
import path from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { cpuMicros, freePort, median, printTable, startScript, startServer, type RunningServer } from '../lib/server.ts'

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    rate: { type: 'string' }
  }
})
if (!values.before) throw new Error('usage: compare.ts --before DIR (a checkout of the tree to compare with)')
const ROUNDS = Number(values.rounds)
const SECONDS = Number(values.seconds)
const CONNECTIONS = Number(values.connections)
const RATE = values.rate ? Number(values.rate) : undefined
const WARMUP = 8
const ADMIN = { email: 'bench@example.test', password: 'bench admin passphrase 2026' }
const ENV = { TYMPAN_ADMIN_EMAIL: ADMIN.email, TYMPAN_ADMIN_PASSWORD: ADMIN.password, RATE_LIMIT_ENTERPRISE_REQUESTS: '1000000000', LOG_LEVEL: 'info' }

async function apiKey (url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
  if (!res.ok) throw new Error(`login failed: ${res.status}`)
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  const { csrfToken } = await res.json() as { csrfToken: string }
  const created = await fetch(`${url}/api/v1/keys`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken }, body: JSON.stringify({ name: 'bench', scopes: ['files:read'] }) })
  return (await created.json() as { key: string }).key
}

interface Target { label: string, url: string, headers: Record<string, string>, pid: number }
const servers: RunningServer[] = []
let bare: Awaited<ReturnType<typeof startScript>> | undefined
try {
  const targets: Target[] = []
  let body = ''
  for (const [name, root] of [['before', path.resolve(values.before)], ['after', undefined]] as const) {
    const server = await startServer(ENV, 60_000, root)
    servers.push(server)
    const key = await apiKey(server.url)
    body = await (await fetch(`${server.url}/api/v1/me`, { headers: { 'x-api-key': key } })).text()
    targets.push({ label: `${name}: GET /api/v1/me, API key`, url: `${server.url}/api/v1/me`, headers: { 'x-api-key': key }, pid: server.child.pid! })
    targets.push({ label: `${name}: GET /healthz`, url: `${server.url}/healthz`, headers: {}, pid: server.child.pid! })
  }
  const port = await freePort()
  bare = await startScript(path.join(import.meta.dirname, 'bare-server.ts'), [String(port), body])
  targets.push({ label: 'bare Fastify', url: `http://127.0.0.1:${port}/api/v1/me`, headers: {}, pid: bare.child.pid! })

  const load = (target: Target, seconds: number) => autocannon({ url: target.url, headers: target.headers, connections: CONNECTIONS, duration: seconds, ...(RATE ? { overallRate: RATE } : {}) })
  for (const target of targets) await load(target, WARMUP)
  const samples = targets.map(() => [] as number[])
  const cpu = targets.map(() => ({ micros: 0, requests: 0, failures: 0 }))
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => i)
    if (round % 2 === 1) order.reverse()
    for (const i of order) {
      const before = cpuMicros(targets[i]!.pid)
      const result = await load(targets[i]!, SECONDS)
      cpu[i]!.micros += cpuMicros(targets[i]!.pid) - before
      cpu[i]!.requests += result.requests.total
      cpu[i]!.failures += result.non2xx + result.errors
      samples[i]!.push(result.requests.average)
    }
    console.log(`round ${round + 1}/${ROUNDS} req/s: ${samples.map((s) => s[round]!.toFixed(0)).join(' | ')}`)
  }
  const baseline = samples.at(-1)!
  const bareCpu = cpu.at(-1)!.micros / cpu.at(-1)!.requests
  printTable(`bench/guard compare: ${ROUNDS} alternating rounds of ${SECONDS} s, ${CONNECTIONS} connections${RATE ? `, ${RATE} req/s each` : ''}, medians; before = ${values.before}, after = this checkout`, [
    ['server: route', 'req/s', 'ratio to bare', 'ratio in each round', 'server CPU µs/req (bare / it)', 'non-2xx + errors'],
    ...targets.map((target, i) => {
      const perRequest = cpu[i]!.micros / cpu[i]!.requests
      return [target.label, median(samples[i]!).toFixed(0), (median(samples[i]!) / median(baseline)).toFixed(2),
        samples[i]!.map((v, round) => (v / baseline[round]!).toFixed(2)).join(' '), `${perRequest.toFixed(0)} (${(bareCpu / perRequest).toFixed(2)})`, cpu[i]!.failures]
    })
  ])
} finally {
  await bare?.stop()
  for (const server of servers) await server.stop()
}
