import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { runTympan, TYMPAN } from './helpers/cli.ts'
import { backends, openTestDb, queueSchemaFor, TEST_DATABASE_URL } from './helpers/db.ts'
import { freePort } from './helpers/net.ts'

// Both outputs are asynchronous (src/http/logger.ts): these run real processes and read what
// reached their stdout pipe and their LOG_FILE after they ended.
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-log-flush-'))
after(() => fs.rmSync(root, { recursive: true, force: true }))
const LOGGER = path.resolve(import.meta.dirname, '..', 'src', 'http', 'logger.ts')
const CONFIG = path.resolve(import.meta.dirname, '..', 'src', 'config', 'config.ts')
const secret = () => randomBytes(48).toString('base64url')

const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
  PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
  HOME: process.env.HOME ?? os.tmpdir(),
  LANG: 'C.UTF-8',
  HOST: '127.0.0.1',
  JWT_SECRET_KEY: secret(),
  CSRF_SECRET_KEY: secret(),
  SESSION_SECRET_KEY: secret(),
  WORKER_CONCURRENCY: '0',
  LOG_LEVEL: 'info',
  ...extra
})

const lines = (text: string) => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string, i?: number })
const fileLines = (dir: string) => lines(fs.readdirSync(dir).filter((name) => name.endsWith('.log')).sort().map((name) => fs.readFileSync(path.join(dir, name), 'utf8')).join(''))

/** Starts `node ARGS` (or `tympan …`) and collects its outputs; `onStdout` sees stdout so far. */
function start (args: string[], options: { env: NodeJS.ProcessEnv, onStdout?: (text: string) => void }) {
  const child = args[0] === 'tympan' ? spawn(TYMPAN, args.slice(1), { cwd: root, env: options.env }) : spawn(process.execPath, args, { cwd: root, env: options.env })
  const ended = new Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }>((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${args.join(' ')} did not end within 120 s\n${stdout}\n${stderr}`)) }, 120_000)
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); options.onStdout?.(stdout) })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
    child.on('error', reject)
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
  })
  return { child, ended }
}

describe('log flush: the last lines reach stdout and LOG_FILE', () => {
  it('on process.exit right after logging (what close-with-grace does after a fatal error)', async () => {
    const dir = path.join(root, 'exit')
    const script = `
      import { parseEnv } from ${JSON.stringify(CONFIG)}
      import { openLogging } from ${JSON.stringify(LOGGER)}
      const { logger } = await openLogging(parseEnv(process.env))
      for (let i = 0; i < 5000; i++) logger.info({ i, pad: 'x'.repeat(100) }, 'line')
      logger.error('the last line before exit')
      process.exit(3)`
    const result = await start(['--input-type=module', '-e', script], { env: env({ LOG_FILE: path.join(dir, 'tympan.log') }) }).ended
    assert.equal(result.code, 3, result.stderr)
    for (const [output, logged] of [['stdout', lines(result.stdout)], ['LOG_FILE', fileLines(dir)]] as const) {
      assert.equal(logged.length, 5001, `${output} has every line`)
      assert.deepEqual(logged.slice(0, 5000).map((line) => line.i), Array.from({ length: 5000 }, (_, i) => i), `${output} in order`)
      assert.equal(logged.at(-1)!.msg, 'the last line before exit')
    }
  })

  it('on a failed start of tympan serve (its port taken): what it logged before is written, exit 1', async () => {
    const dataDir = path.join(root, 'serve-data')
    const dir = path.join(root, 'serve-logs')
    const port = await freePort()
    const taken = net.createServer()
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve))
    try {
      const result = await runTympan(['serve'], { env: env({ TYMPAN_DATA_DIR: dataDir, PORT: String(port), LOG_FILE: path.join(dir, 'tympan.log') }), cwd: root })
      assert.equal(result.code, 1, result.stderr)
      assert.match(result.stderr, /cannot listen/)
      for (const logged of [lines(result.stdout), fileLines(dir)]) {
        assert.ok(logged.some((line) => line.msg === 'database migrated'), JSON.stringify(logged))
        assert.ok(logged.some((line) => line.msg.startsWith('first admin created')), JSON.stringify(logged))
      }
    } finally {
      await new Promise((resolve) => taken.close(resolve))
    }
  })

  it('on SIGTERM to tympan serve: "shutting down" is the last line in both, exit 0', async () => {
    const dataDir = path.join(root, 'serve-data')
    const dir = path.join(root, 'serve-logs-stop')
    const port = await freePort()
    let stopped = false
    const server = start(['tympan', 'serve'], {
      env: env({ TYMPAN_DATA_DIR: dataDir, PORT: String(port), LOG_FILE: path.join(dir, 'tympan.log') }),
      onStdout: (text) => {
        if (stopped || !text.includes('"msg":"Server listening')) return
        stopped = true
        server.child.kill('SIGTERM')
      }
    })
    const result = await server.ended
    assert.ok(stopped, `the server never listened\n${result.stdout}\n${result.stderr}`)
    assert.equal(result.code, 0, result.stderr)
    for (const logged of [lines(result.stdout), fileLines(dir)]) assert.equal(logged.at(-1)!.msg, 'shutting down', JSON.stringify(logged.slice(-3)))
  })
})

const postgres = (await backends()).find((b) => b.name === 'postgres')!

describe('log flush: tympan worker has the same outputs', { skip: postgres.skip }, () => {
  it('writes its lines to stdout and its own LOG_FILE, and the last one before a SIGTERM exit', async () => {
    const testDb = await openTestDb('postgres')
    try {
      const url = new URL(TEST_DATABASE_URL)
      url.searchParams.set('options', `-c search_path=${testDb.schema!}`)
      const dir = path.join(root, 'worker-logs')
      let stopped = false
      const worker = start(['tympan', 'worker'], {
        env: env({ DATABASE_URL: url.toString(), JOB_QUEUE_SCHEMA: queueSchemaFor(testDb.schema!), TYMPAN_DATA_DIR: path.join(root, 'worker-data'), WORKER_CONCURRENCY: '1', LOG_FILE: path.join(dir, 'worker.log') }),
        onStdout: (text) => {
          if (stopped || !text.includes('"msg":"worker started"')) return
          stopped = true
          worker.child.kill('SIGTERM')
        }
      })
      const result = await worker.ended
      assert.ok(stopped, `the worker never started\n${result.stdout}\n${result.stderr}`)
      assert.equal(result.code, 0, `${result.signal}\n${result.stdout}\n${result.stderr}`)
      const fromStdout = lines(result.stdout)
      const fromFile = lines(fs.readdirSync(dir).map((name) => fs.readFileSync(path.join(dir, name), 'utf8')).join(''))
      assert.deepEqual(fs.readdirSync(dir), ['worker.1.log'])
      assert.deepEqual(fromFile, fromStdout, 'the file holds what stdout got, line for line')
      assert.ok(fromFile.some((line) => line.msg === 'worker stopping'), JSON.stringify(fromFile))
    } finally {
      await testDb.close()
    }
  })
})

describe('log settings: a bad value is a clear start-up refusal (exit 78) that names it', () => {
  const cases: [string, string][] = [
    ['LOG_MAX_SIZE', '10x'],
    ['LOG_BACKUP_COUNT', '0'],
    ['LOG_RETENTION_DAYS', '-1'],
    ['LOG_FILE', `${root}/logs/`],
    ['AUDIT_RETENTION_DAYS', '-5']
  ]
  for (const [name, value] of cases) {
    it(`${name}=${value}`, async () => {
      const result = await runTympan(['serve'], { env: env({ TYMPAN_DATA_DIR: path.join(root, 'refused'), [name]: value }), cwd: root })
      assert.equal(result.code, 78, result.stderr)
      assert.match(result.stderr, new RegExp(`^tympan: Invalid configuration: .*\\b${name}\\b`))
      assert.equal(fs.existsSync(path.join(root, 'refused', 'db')), false, 'refused before the database was opened')
    })
  }

  it('LOG_FILE in a directory every user may write', async () => {
    const open = path.join(root, 'open-dir')
    fs.mkdirSync(open)
    fs.chmodSync(open, 0o777)
    const result = await runTympan(['serve'], { env: env({ TYMPAN_DATA_DIR: path.join(root, 'serve-data'), LOG_FILE: path.join(open, 'tympan.log'), PORT: String(await freePort()) }), cwd: root })
    assert.equal(result.code, 78, result.stderr)
    assert.match(result.stderr, /^tympan: LOG_FILE=.*: its directory .* is writable by every user/)
    assert.deepEqual(fs.readdirSync(open), [])
  })
})
