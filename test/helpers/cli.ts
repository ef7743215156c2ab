import { spawn } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
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
