import { spawn, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './net.ts'
import { GENEROUS_RATE_LIMITS, NO_LAG_SHEDDING, testSecret } from './app.ts'

export const TYMPAN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'tympan')

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}

/**
 * The least environment `bin/tympan` runs with in a test: this Node first on PATH, a home, a
 * locale and its own data directory, on loopback; nothing else of the test runner's leaks in.
 */
export function cliEnv (dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? os.tmpdir(),
    LANG: 'C.UTF-8',
    TYMPAN_DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    ...extra
  }
}

/**
 * The environment of `tympan serve` (and the admin commands beside it) in a test file: one
 * first admin, secrets fixed for the file (a restarted or restored server accepts its
 * tokens), a worker, limits out of reach; `extra` adds to or overrides it.
 */
export function servedEnv (admin: { email: string, password: string, logLevel?: string }) {
  const secrets = { JWT_SECRET_KEY: testSecret(), CSRF_SECRET_KEY: testSecret(), SESSION_SECRET_KEY: testSecret() }
  return (dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => cliEnv(dataDir, {
    TYMPAN_ADMIN_EMAIL: admin.email,
    TYMPAN_ADMIN_PASSWORD: admin.password,
    WORKER_CONCURRENCY: '1',
    LOG_LEVEL: admin.logLevel ?? 'warn',
    ...secrets,
    ...GENEROUS_RATE_LIMITS,
    ...NO_LAG_SHEDDING,
    ...extra
  })
}

/** Runs `bin/tympan` as a user would, with exactly `env`; fails the test past `timeoutMs`. */
export function runTympan (args: string[], options: { env: NodeJS.ProcessEnv, cwd: string, input?: string, timeoutMs?: number }): Promise<CliResult> {
  const started = Date.now()
  const timeoutMs = options.timeoutMs ?? 120_000
  return new Promise((resolve, reject) => {
    const child = spawn(TYMPAN, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`tympan ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started })
    })
    child.stdin.end(options.input ?? '')
  })
}

export interface ServedTympan {
  child: ChildProcess
  port: number
  url: string
  /** What the process wrote so far. */
  output: () => { stdout: string, stderr: string }
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** SIGTERM, then its exit (fails the test if it takes over 30 s). */
  stop: () => Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

// A failed assertion must not leave a server behind the test process.
const served = new Set<ChildProcess>()
process.once('exit', () => { for (const child of served) child.kill('SIGKILL') })

export function withTimeout<T> (promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(message)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Starts `bin/tympan serve` with exactly `env` on a free port and waits until /healthz answers. */
export async function serveTympan (env: NodeJS.ProcessEnv, options: { cwd: string, readyMs?: number }): Promise<ServedTympan> {
  const readyMs = options.readyMs ?? 180_000
  const port = await freePort()
  const child = spawn(TYMPAN, ['serve'], { cwd: options.cwd, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] })
  served.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  let gone = false
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => { served.delete(child); gone = true; resolve({ code, signal }) })
  })
  const url = `http://127.0.0.1:${port}`
  for (const deadline = Date.now() + readyMs; ;) {
    if (gone) throw new Error(`tympan serve exited before it was ready\n${stdout}\n${stderr}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`tympan serve was not ready within ${readyMs / 1000} s\n${stdout}\n${stderr}`)
    }
    if (await fetch(`${url}/healthz`).then((res) => res.ok, () => false)) break
    await sleep(100)
  }
  return {
    child,
    port,
    url,
    output: () => ({ stdout, stderr }),
    exited,
    stop () {
      child.kill('SIGTERM')
      return withTimeout(exited, 30_000, 'tympan serve did not exit within 30 s of SIGTERM')
    }
  }
}
