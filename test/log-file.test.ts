import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import pino from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import { ConfigError } from '../src/config/config.ts'
import { openLogging, type Logging } from '../src/http/logger.ts'
import { PASSWORD, startApp, testConfig } from './helpers/app.ts'

// The real logger of `tympan serve` (http/logger.ts), its stdout sent to a file of the test's
// so that both outputs can be read; LOG_FILE in a private directory per test.
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-logs-'))
after(() => fs.rmSync(root, { recursive: true, force: true }))
let dirs = 0

async function logging (settings: Record<string, string>, dir = path.join(root, `case-${++dirs}`)) {
  const stdoutFile = path.join(root, `stdout-${dirs}.log`)
  const config = testConfig({ LOG_LEVEL: 'info', LOG_FILE: path.join(dir, 'tympan.log'), ...settings })
  const opened = await openLogging(config, pino.destination({ dest: stdoutFile, sync: false }))
  return { ...opened, dir, stdout: () => fs.readFileSync(stdoutFile, 'utf8') }
}

const logFiles = (dir: string) => fs.readdirSync(dir).filter((name) => /^tympan\.\d+\.log$/.test(name))
  .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]))
const place = (dir: string, name: string, ageDays: number, mode = 0o600) => {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const file = path.join(dir, name)
  fs.writeFileSync(file, `{"msg":"from an earlier run: ${name}"}\n`, { mode })
  fs.chmodSync(file, mode)
  const at = new Date(Date.now() - ageDays * 86_400_000)
  fs.utimesSync(file, at, at)
}
const pause = () => new Promise((resolve) => setTimeout(resolve, 2))
const lines = (text: string) => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg?: string })

describe('log file: rotation by size, kept count, age, permissions', () => {
  it('rotates at LOG_MAX_SIZE and keeps LOG_BACKUP_COUNT rotated files besides the current one, all 0600', async () => {
    const log = await logging({ LOG_MAX_SIZE: '4k', LOG_BACKUP_COUNT: '3' })
    const pad = 'x'.repeat(150)
    for (let i = 0; i < 600; i++) {
      log.logger.info({ i, pad }, 'line')
      // Between batches the writes complete, as under real traffic: pino-roll rotates after them.
      if (i % 20 === 19) await pause()
    }
    await log.close()

    const files = logFiles(log.dir)
    assert.equal(files.length, 4, `3 rotated files and the current one: ${files.join(', ')}`)
    const numbers = files.map((name) => Number(name.split('.')[1]))
    assert.ok(numbers[0]! > 10, `the file was rotated many times (numbers ${numbers.join(', ')})`)
    assert.deepEqual(numbers, [numbers[0], numbers[0]! + 1, numbers[0]! + 2, numbers[0]! + 3], 'the newest files are the ones kept')
    for (const name of files) assert.equal(fs.statSync(path.join(log.dir, name)).mode & 0o777, 0o600, `${name} is private`)
    assert.equal(fs.statSync(log.dir).mode & 0o777, 0o700, 'the directory Tympan created is private')
    for (const name of files.slice(0, 3)) {
      const size = fs.statSync(path.join(log.dir, name)).size
      assert.ok(size >= 4096, `${name} was rotated at 4 KiB or just past it, not before (${size} bytes)`)
    }
    // What was kept is the end of the log, every line in order, none lost at a rotation.
    const kept = files.flatMap((name) => fs.readFileSync(path.join(log.dir, name), 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { i: number }).i))
    assert.equal(kept.at(-1), 599)
    assert.deepEqual(kept, Array.from({ length: kept.length }, (_, k) => 600 - kept.length + k))
    assert.equal(log.stdout().split('\n').filter(Boolean).length, 600, 'stdout has every line as well')
  })

  it('trims files an earlier run left beyond LOG_BACKUP_COUNT, continues the newest, and makes them private', async () => {
    const dir = path.join(root, 'earlier-run')
    for (let n = 1; n <= 6; n++) place(dir, `tympan.${n}.log`, 0, 0o644)
    place(dir, 'worker.1.log', 400, 0o644)
    const log = await logging({ LOG_BACKUP_COUNT: '2', LOG_RETENTION_DAYS: '0' }, dir)
    log.logger.info('after the restart')
    await log.flush()
    assert.deepEqual(logFiles(dir), ['tympan.4.log', 'tympan.5.log', 'tympan.6.log'])
    assert.match(fs.readFileSync(path.join(dir, 'tympan.6.log'), 'utf8'), /after the restart/)
    for (const name of logFiles(dir)) assert.equal(fs.statSync(path.join(dir, name)).mode & 0o777, 0o600, name)
    assert.ok(fs.existsSync(path.join(dir, 'worker.1.log')), "another target's file stays")
    await log.close()
  })

  it('deletes rotated files last written more than LOG_RETENTION_DAYS ago, however few there are', async () => {
    const dir = path.join(root, 'old-files')
    place(dir, 'tympan.1.log', 45)
    place(dir, 'tympan.2.log', 31)
    place(dir, 'tympan.3.log', 29)
    place(dir, 'tympan.4.log', 0)
    const log = await logging({ LOG_BACKUP_COUNT: '10', LOG_RETENTION_DAYS: '30' }, dir)
    await log.flush()
    assert.deepEqual(logFiles(dir), ['tympan.3.log', 'tympan.4.log'])
    await log.close()
  })

  it('refuses a directory every user may write, and a path that is not a directory, before writing anything', async () => {
    const open = path.join(root, 'world-writable')
    fs.mkdirSync(open)
    fs.chmodSync(open, 0o1777)
    await assert.rejects(logging({}, open), (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error))
      assert.match(error.message, /^LOG_FILE=.*world-writable\/tympan\.log: its directory .* is writable by every user \(mode 1777\)/)
      return true
    })
    assert.deepEqual(fs.readdirSync(open), [])
    const notDir = path.join(root, 'a-file')
    fs.writeFileSync(notDir, '')
    await assert.rejects(logging({}, notDir), (error: unknown) => error instanceof ConfigError && /LOG_FILE=.*cannot create its directory/.test(error.message))
  })
})

describe('log file: write failures', () => {
  it('are reported on stdout once while they last, and the server keeps logging to stdout', { timeout: 30_000 }, async () => {
    const log = await logging({})
    const current = logFiles(log.dir)[0]!
    // A full disk: the file's descriptor becomes /dev/full (the lowest free number is the one
    // just closed), where every write fails with ENOSPC.
    const fd = fs.readdirSync('/proc/self/fd').find((entry) => { try { return fs.readlinkSync(`/proc/self/fd/${entry}`) === path.join(log.dir, current) } catch { return false } })
    assert.ok(fd, 'the log file is open')
    fs.closeSync(Number(fd))
    assert.equal(fs.openSync('/dev/full', 'w'), Number(fd))
    for (let i = 0; i < 5; i++) {
      log.logger.info({ i }, 'while the file fails')
      await pause()
    }
    await log.flush()
    const out = lines(log.stdout())
    assert.equal(out.filter((line) => line.msg === 'while the file fails').length, 5, 'stdout got every line')
    const reports = out.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('could not write the log file'))
    assert.equal(reports.length, 1, JSON.stringify(reports))
    assert.ok(reports[0]!.msg!.endsWith(current), reports[0]!.msg)
    assert.match(JSON.stringify(reports[0]), /ENOSPC/)
    await log.close()
  })
})

describe('log file: redaction', () => {
  let log: Logging & { dir: string, stdout: () => string }
  after(async () => { await log?.close() })

  it('keeps passwords, tokens, keys and credential headers out of the file as out of stdout', async () => {
    log = await logging({})
    const t = await startApp('pglite', {}, undefined, { loggerInstance: log.logger as FastifyBaseLogger })
    try {
      const user = await t.createUser('member')
      const session = await t.login(user.email)
      const key = await t.apiKey(session, ['files:read'])
      const secrets = [PASSWORD, key, session.csrfToken, ...Object.values(session.cookies), 'query-secret-0123456789', 'pw-field-secret-1', 'tok-field-secret-2', 'hdr-secret-3']
      assert.equal((await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${key}` } })).statusCode, 200)
      await t.app.inject({ url: '/api/v1/me?access_token=query-secret-0123456789', headers: { 'x-api-key': key } })
      t.app.log.info({ password: 'pw-field-secret-1', user: { token: 'tok-field-secret-2' }, req: { headers: { authorization: 'Bearer hdr-secret-3' } } }, 'diagnostic')
      await log.flush()
      const file = logFiles(log.dir).map((name) => fs.readFileSync(path.join(log.dir, name), 'utf8')).join('')
      assert.match(file, /"msg":"request"/, 'the request lines reached the file')
      assert.match(file, /"msg":"diagnostic"/)
      assert.match(file, /access_token=\[REDACTED\]/)
      for (const text of [file, log.stdout()]) {
        for (const secret of secrets) assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 6)}…) reached the log`)
      }
    } finally {
      await t.close()
    }
  })
})
