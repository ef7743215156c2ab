// bench/guard/profile.ts: where the guard stack's time goes, for when bench/guard/run.ts
// misses its throughput aim. Loads GET /api/v1/me (API key) on Tympan and on the bare
// baseline, each under the V8 CPU profiler (--cpu-prof), and prints the CPU time per request
// by component: every profiler sample is charged to the innermost frame on its stack that
// belongs to a known package or source file (so a header set by helmet counts as helmet,
// a socket write done by Fastify's reply as Fastify). CPU per request does not depend on how
// busy the rest of the machine is, which req/s does.
// Tympan logs at info, so its line per request is in the profile (pino, src/http).
// Usage: node bench/guard/profile.ts [--seconds N] [--connections N] [--env NAME=VALUE]... [--top N]
// (--top N also lists the N functions with the most self time per request, on either server)
// (--env adds to Tympan's environment, e.g. --env RATE_LIMIT_ENABLED=false)
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { freePort, printTable, startScript, startServer } from '../lib/server.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    env: { type: 'string', multiple: true, default: [] },
    top: { type: 'string', default: '0' }
  }
})
const SECONDS = Number(values.seconds)
const CONNECTIONS = Number(values.connections)
const EXTRA_ENV = Object.fromEntries(values.env.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]))
const ADMIN = { email: 'bench@example.test', password: 'bench admin passphrase 2026' }
const WARMUP = 3

const COMPONENTS: [string, RegExp][] = [
  ['helmet (@fastify/helmet, helmet)', /node_modules\/(@fastify\/)?helmet\//],
  ['CORS (@fastify/cors, cors-policy.ts)', /node_modules\/@fastify\/cors\/|src\/guard\/cors-policy\.ts/],
  ['load shedding (@fastify/under-pressure)', /node_modules\/@fastify\/under-pressure\//],
  ['security headers and request id (security-headers.ts hook)', /src\/guard\/(guard|security-headers)\.ts/],
  ['rate limit (rate-limit.*.ts, rate-limiter-flexible, ioredis)', /src\/guard\/rate-limit|node_modules\/(rate-limiter-flexible|ioredis|ipaddr\.js)\//],
  ['metrics (onResponse hook, request-series.ts)', /src\/observability\/|node_modules\/prom-client\//],
  ['authentication (auth hook, service, cache, key hash)', /src\/modules\/(auth|keys)\//],
  ['route handler (me.routes.ts, toPublicUser)', /src\/modules\/(me|users)\//],
  ['request line, request id, cache-control (src/http, app.ts hooks)', /src\/http\/|src\/app\.ts/],
  ['@fastify/cookie', /node_modules\/(@fastify\/cookie|cookie)\//],
  ['logging (pino child loggers, redaction)', /node_modules\/(pino|@pinojs)/],
  ['Fastify core, router, serializer, socket writes', /node_modules\/(fastify|find-my-way|fast-json-stringify|@fastify\/[a-z-]+)\//]
]
const OTHER = 'Node HTTP parser, sockets, event loop'
const GC = 'garbage collector'

interface ProfileNode { id: number, callFrame: { functionName: string, url: string }, children?: number[] }
interface Profile { nodes: ProfileNode[], startTime: number, samples: number[], timeDeltas: number[] }

/** Microseconds of CPU per component (or, `byFunction`, per innermost function) over the last `seconds` of activity in the profile. */
function breakdown (file: string, seconds: number, byFunction = false): Map<string, number> {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const component = new Map<number, string>()
  const componentOf = (id: number): string => {
    const known = component.get(id)
    if (known) return known
    let found: string | undefined
    for (let current: number | undefined = id; current !== undefined && !found; current = parent.get(current)) {
      const url = byId.get(current)!.callFrame.url
      if (url) found = COMPONENTS.find(([, pattern]) => pattern.test(url))?.[0]
    }
    const result = found ?? (byId.get(id)!.callFrame.functionName === '(garbage collector)' ? GC : OTHER)
    component.set(id, result)
    return result
  }
  const functionOf = (id: number): string => {
    const { functionName, url } = byId.get(id)!.callFrame
    const file = url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/')
    return `${functionName || '(anonymous)'} ${file}`
  }
  let clock = profile.startTime
  const times = profile.timeDeltas.map((delta) => (clock += delta))
  const idle = (i: number) => byId.get(profile.samples[i]!)!.callFrame.functionName === '(idle)'
  // The load ran until the last busy sample (the server then idles until it is stopped).
  let end = 0
  for (let i = 0; i < profile.samples.length; i++) if (!idle(i)) end = times[i]!
  const start = end - seconds * 1e6
  const out = new Map<string, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    if (times[i]! < start || times[i]! > end || idle(i)) continue
    const name = byFunction ? functionOf(profile.samples[i]!) : componentOf(profile.samples[i]!)
    out.set(name, (out.get(name) ?? 0) + (profile.timeDeltas[i + 1] ?? 0))
  }
  return out
}

async function load (url: string, headers: Record<string, string>): Promise<number> {
  await autocannon({ url, headers, connections: CONNECTIONS, duration: WARMUP })
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: SECONDS })
  if (result.non2xx || result.errors) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  console.log(`${url}: ${result.requests.average.toFixed(0)} req/s while profiled`)
  return result.requests.total
}

const profileFile = (dir: string): string => path.join(dir, fs.readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))!)
const profilerFlags = (dir: string) => `--cpu-prof --cpu-prof-dir=${dir} --cpu-prof-interval=200`

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bench-guard-profile-'))
try {
  const tympanDir = path.join(work, 'tympan')
  const bareDir = path.join(work, 'bare')
  const server = await startServer({
    TYMPAN_ADMIN_EMAIL: ADMIN.email, TYMPAN_ADMIN_PASSWORD: ADMIN.password, RATE_LIMIT_ENTERPRISE_REQUESTS: '1000000000', LOG_LEVEL: 'info',
    ...EXTRA_ENV, NODE_OPTIONS: profilerFlags(tympanDir)
  })
  let body: string
  let tympanRequests: number
  try {
    const login = await fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
    if (!login.ok) throw new Error(`login failed: ${login.status}`)
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
    const { csrfToken } = await login.json() as { csrfToken: string }
    const created = await fetch(`${server.url}/api/v1/keys`, {
      method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken }, body: JSON.stringify({ name: 'bench', scopes: ['files:read'] })
    })
    const { key } = await created.json() as { key: string }
    body = await (await fetch(`${server.url}/api/v1/me`, { headers: { 'x-api-key': key } })).text()
    tympanRequests = await load(`${server.url}/api/v1/me`, { 'x-api-key': key })
  } finally {
    await server.stop() // the profile is written when the process exits
  }

  const port = await freePort()
  const previous = process.env.NODE_OPTIONS
  process.env.NODE_OPTIONS = profilerFlags(bareDir)
  const bare = await startScript(path.join(import.meta.dirname, 'bare-server.ts'), [String(port), body])
  if (previous === undefined) delete process.env.NODE_OPTIONS
  else process.env.NODE_OPTIONS = previous
  let bareRequests: number
  try {
    bareRequests = await load(`http://127.0.0.1:${port}/api/v1/me`, {})
  } finally {
    await bare.stop()
  }

  const tympan = breakdown(profileFile(tympanDir), SECONDS)
  const baseline = breakdown(profileFile(bareDir), SECONDS)
  const perRequest = (map: Map<string, number>, name: string, requests: number) => ((map.get(name) ?? 0) / requests).toFixed(1)
  const total = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0)
  const names = [...new Set([...tympan.keys(), ...baseline.keys()])].sort((a, b) => (tympan.get(b) ?? 0) / tympanRequests - (tympan.get(a) ?? 0) / tympanRequests)
  printTable(`bench/guard profile: CPU µs per GET /api/v1/me, ${SECONDS} s at ${CONNECTIONS} connections${values.env.length ? `, Tympan with ${values.env.join(' ')}` : ''}`, [
    ['component', 'Tympan µs/req', 'bare µs/req'],
    ...names.map((name) => [name, perRequest(tympan, name, tympanRequests), perRequest(baseline, name, bareRequests)]),
    ['total', (total(tympan) / tympanRequests).toFixed(1), (total(baseline) / bareRequests).toFixed(1)],
    ['ratio of CPU per request (bare / Tympan)', ((total(baseline) / bareRequests) / (total(tympan) / tympanRequests)).toFixed(2), '']
  ])
  const TOP = Number(values.top)
  if (TOP > 0) {
    for (const [label, dir, requests] of [['Tympan', tympanDir, tympanRequests], ['bare', bareDir, bareRequests]] as const) {
      const functions = [...breakdown(profileFile(dir), SECONDS, true)].sort((a, b) => b[1] - a[1]).slice(0, TOP)
      printTable(`${label}: the ${TOP} functions with the most self time, CPU µs per request`, [
        ['function', 'µs/req'],
        ...functions.map(([name, micros]) => [name, (micros / requests).toFixed(2)])
      ])
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true })
}
