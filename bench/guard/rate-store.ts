// bench/guard/rate-store.ts: the in-memory rate counter (src/guard/rate-limit.store.ts) of this
// tree against another's, in one run: CPU per request, and the slowest single request (the
// one that drops a whole window's expired keys, or a garbage collection pause, in either tree). The clock is virtual (Date.now replaced),
// so a run covers many windows in a moment and both trees see the same requests.
//   steady:  CLIENTS keys, each request from a random one, 1 virtual ms apart (60,000 requests
//            in a window of 60 s): windows end all the time, a few at once.
//   cliff:   CLIENTS keys open their windows in the same second; the first request after it
//            ends finds all of them expired at once.
// Usage: node bench/guard/rate-store.ts --before DIR [--rounds N] [--clients N] [--requests N]
// DIR is another checkout (e.g. `git archive <commit> src | tar -x -C DIR`, node_modules linked).
import path from 'node:path'
import { parseArgs } from 'node:util'
import { median, printTable } from '../lib/server.ts'
import type { RateLimitStore } from '../../src/guard/rate-limit.store.ts'

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    clients: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '1000000' }
  }
})
if (!values.before) throw new Error('usage: rate-store.ts --before DIR (a checkout of the tree to compare with)')
const ROUNDS = Number(values.rounds)
const CLIENTS = Number(values.clients)
const REQUESTS = Number(values.requests)
const WINDOW_SEC = 60

type Tree = { name: string, memoryStore: () => RateLimitStore }
const load = async (name: string, root: string): Promise<Tree> =>
  ({ name, memoryStore: (await import(path.join(root, 'src/guard/rate-limit.store.ts')) as { memoryStore: () => RateLimitStore }).memoryStore })
const trees = [await load('before', path.resolve(values.before)), await load('after', path.resolve(import.meta.dirname, '../..'))]

let clock = 1_000_000
Date.now = () => clock

// The same pseudo-random clients for both trees.
const clients = (() => {
  let seed = 42
  return Array.from({ length: REQUESTS }, () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return `client-${seed % CLIENTS}`
  })
})()

const cpuNs = () => { const { user, system } = process.cpuUsage(); return (user + system) * 1000 }

function steady (tree: Tree) {
  const budget = tree.memoryStore().budget({ name: 'requests', points: 100, durationSec: WINDOW_SEC })
  let slowest = 0
  const start = cpuNs()
  for (const key of clients) {
    clock += 1
    const t = process.hrtime.bigint()
    budget.consume(key)
    slowest = Math.max(slowest, Number(process.hrtime.bigint() - t))
  }
  return { cpuPerRequest: (cpuNs() - start) / REQUESTS, slowest }
}

function cliff (tree: Tree) {
  const budget = tree.memoryStore().budget({ name: 'requests', points: 100, durationSec: WINDOW_SEC })
  for (let i = 0; i < CLIENTS; i++) budget.consume(`client-${i}`)
  clock += WINDOW_SEC * 1000
  let slowest = 0
  const start = cpuNs()
  for (let i = 0; i < CLIENTS; i++) {
    const t = process.hrtime.bigint()
    budget.consume(`next-${i}`)
    slowest = Math.max(slowest, Number(process.hrtime.bigint() - t))
  }
  return { cpuPerRequest: (cpuNs() - start) / CLIENTS, slowest }
}

const results = new Map<string, { cpu: number[], slowest: number[] }>()
const record = (key: string, r: { cpuPerRequest: number, slowest: number }) => {
  const entry = results.get(key) ?? { cpu: [], slowest: [] }
  entry.cpu.push(r.cpuPerRequest)
  entry.slowest.push(r.slowest)
  results.set(key, entry)
}
// Alternating rounds, each tree first in turn; one warm-up round of each is not counted.
for (let round = -1; round < ROUNDS; round++) {
  for (const tree of round % 2 === 0 ? trees : [...trees].reverse()) {
    const s = steady(tree)
    const c = cliff(tree)
    if (round < 0) continue
    record(`steady ${tree.name}`, s)
    record(`cliff ${tree.name}`, c)
  }
}

const rows: (string | number)[][] = [['scenario', 'CPU ns/request before', 'after', 'after/before', 'slowest request before (ms)', 'after (ms)']]
for (const scenario of ['steady', 'cliff']) {
  const before = results.get(`${scenario} before`)!
  const after = results.get(`${scenario} after`)!
  rows.push([scenario, median(before.cpu).toFixed(0), median(after.cpu).toFixed(0), (median(after.cpu) / median(before.cpu)).toFixed(2),
    (median(before.slowest) / 1e6).toFixed(2), (median(after.slowest) / 1e6).toFixed(2)])
}
printTable(`In-memory rate counter, ${CLIENTS} clients, ${REQUESTS} requests (steady), ${ROUNDS} alternating rounds, medians`, rows)
