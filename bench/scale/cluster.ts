// The processes of bench/scale: Tympan API nodes and workers started as an operator would
// (`node src/main.ts serve|worker`), each with its own data directory whose `files` is one
// shared directory (the local storage driver standing in for a shared store), its output in a
// log file. Every process started here is registered, so that cleanup() can end them all,
// by their own pids, whatever went wrong.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../../test/helpers/net.ts'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const MAIN = path.join(ROOT, 'src/main.ts')

export interface Proc {
  name: string
  child: ChildProcess
  log: string
  /** Set when the process has exited, with how. */
  exit: () => string | undefined
  /** SIGKILL, no grace: the fault the bench injects. */
  kill9: () => Promise<void>
  /** SIGTERM, then SIGKILL after 10 s; waits for the exit. */
  stop: () => Promise<void>
}

export interface ApiNode extends Proc {
  url: string
}

const running = new Set<ChildProcess>()

async function exited (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise((resolve) => child.once('exit', resolve))
}

/** Ends every process this module started that is still running (SIGKILL after 5 s). */
export async function cleanup (): Promise<void> {
  await Promise.all([...running].map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited(child)
    clearTimeout(timer)
  }))
}

export interface Layout {
  /** Where each process gets its data directory and log file. */
  runDir: string
  /** The storage root every process shares (`<data dir>/files` links to it). */
  sharedFiles: string
  /** The environment every process gets (database, Redis, secrets, limits). */
  env: Record<string, string>
}

function spawnTympan (layout: Layout, name: string, command: string[], env: Record<string, string>): Proc {
  const dataDir = path.join(layout.runDir, name)
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const files = path.join(dataDir, 'files')
  if (!fs.existsSync(files)) fs.symlinkSync(layout.sharedFiles, files)
  const log = path.join(layout.runDir, `${name}.log`)
  const out = fs.openSync(log, 'a')
  const child = spawn(process.execPath, [MAIN, ...command], {
    env: { ...process.env, ...layout.env, TYMPAN_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', out, out]
  })
  fs.closeSync(out)
  running.add(child)
  child.once('exit', () => running.delete(child))
  let how: string | undefined
  child.once('exit', (code, signal) => { how = signal ?? `exit ${code}` })
  return {
    name,
    child,
    log,
    exit: () => how,
    async kill9 () {
      child.kill('SIGKILL')
      await exited(child)
    },
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited(child)
      clearTimeout(timer)
    }
  }
}

const tail = (file: string) => fs.existsSync(file) ? fs.readFileSync(file, 'utf8').slice(-2000) : ''

/** `tympan serve` without workers, ready once /healthz answers. */
export async function startApi (layout: Layout, name: string, env: Record<string, string> = {}): Promise<ApiNode> {
  const port = await freePort()
  const proc = spawnTympan(layout, name, ['serve'], { PORT: String(port), WORKER_CONCURRENCY: '0', ...env })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (proc.exit()) throw new Error(`${name} exited (${proc.exit()}): ${tail(proc.log)}`)
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false)
    if (ok) return { ...proc, url }
    if (Date.now() > deadline) throw new Error(`${name} did not start: ${tail(proc.log)}`)
    await sleep(200)
  }
}

/** `tympan worker`, ready once it logged "worker started" (its log level must include info). */
export async function startWorker (layout: Layout, name: string, env: Record<string, string> = {}): Promise<Proc> {
  const before = fs.existsSync(path.join(layout.runDir, `${name}.log`)) ? fs.statSync(path.join(layout.runDir, `${name}.log`)).size : 0
  const proc = spawnTympan(layout, name, ['worker'], { LOG_LEVEL: 'info', ...env })
  const deadline = Date.now() + 60_000
  for (;;) {
    if (proc.exit()) throw new Error(`${name} exited (${proc.exit()}): ${tail(proc.log)}`)
    const text = fs.readFileSync(proc.log, 'utf8').slice(before)
    if (text.includes('"msg":"worker started"')) return proc
    if (Date.now() > deadline) throw new Error(`${name} did not start: ${tail(proc.log)}`)
    await sleep(100)
  }
}

/** `tympan admin sweep` on the cluster's database and store, as an operator would run it; its exit and output. */
export async function runSweep (layout: Layout, env: Record<string, string> = {}): Promise<{ exit: string, output: string }> {
  const log = path.join(layout.runDir, 'sweep.log')
  const from = fs.existsSync(log) ? fs.statSync(log).size : 0
  const proc = spawnTympan(layout, 'sweep', ['admin', 'sweep'], env)
  await exited(proc.child)
  return { exit: proc.exit() ?? 'running', output: fs.readFileSync(log, 'utf8').slice(from) }
}

/** Object ids present in the local storage root (`objects/<2 hex>/<uuid>`). */
export function storedObjects (root: string): string[] {
  const objects = path.join(root, 'objects')
  if (!fs.existsSync(objects)) return []
  return fs.readdirSync(objects).flatMap((dir) => fs.readdirSync(path.join(objects, dir)))
}

/** Files a write in progress leaves under `incoming/` until it completes or is swept. */
export function incompleteWrites (root: string): number {
  const incoming = path.join(root, 'incoming')
  return fs.existsSync(incoming) ? fs.readdirSync(incoming).length : 0
}
