import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import pino from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import { askServer, controlSocketPath, listenControl } from './control-socket.ts'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-ctl-'))
after(() => fs.rmSync(dir, { recursive: true, force: true }))
const log = pino({ level: 'silent' }) as unknown as FastifyBaseLogger

/** Sends raw bytes and returns the raw answer. */
function raw (file: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = ''
    const socket = net.createConnection(file, () => socket.write(text))
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { answer += chunk })
    socket.on('end', () => resolve(answer))
    socket.on('error', reject)
  })
}

describe('control socket', () => {
  it('answers a backup request with the result, owner-only, and removes its file on close', async () => {
    const file = controlSocketPath(dir)
    fs.writeFileSync(file, 'left by a dead server')
    const asked: string[] = []
    const control = await listenControl(file, async (target) => { asked.push(target); return { written: target } }, log)
    assert.equal(fs.statSync(file).mode & 0o777, 0o600)
    assert.deepEqual(await askServer(file, { command: 'backup', dir: '/backups/one' }), { ok: true, result: { written: '/backups/one' } })
    assert.deepEqual(asked, ['/backups/one'])
    await control.close()
    assert.equal(fs.existsSync(file), false)
    assert.equal(await askServer(file, { command: 'backup', dir: '/backups/two' }), undefined, 'no server: the CLI works offline')
  })

  it('refuses anything but a backup to an absolute directory, and a second backup while one runs', async () => {
    const file = path.join(dir, 'refusals.sock')
    let finish = () => {}
    let started = () => {}
    const running = new Promise<void>((resolve) => { started = resolve })
    const control = await listenControl(file, () => new Promise<string>((resolve) => { finish = () => resolve('done'); started() }), log)
    try {
      assert.match(await raw(file, 'not json\n'), /"error":"the request is not JSON"/)
      assert.match(await raw(file, '{"command":"shell","dir":"/x"}\n'), /the only request is a backup/)
      assert.match(await raw(file, '{"command":"backup","dir":"relative/dir"}\n'), /absolute directory/)
      assert.match(await raw(file, `${'x'.repeat(70_000)}`), /request too long/)
      const first = askServer<string>(file, { command: 'backup', dir: '/a' })
      await running
      assert.deepEqual(await askServer(file, { command: 'backup', dir: '/b' }), { ok: false, error: 'a backup is already running' })
      finish()
      assert.deepEqual(await first, { ok: true, result: 'done' })
    } finally {
      await control.close()
    }
  })

  it('reports a failed backup as an error the CLI can print', async () => {
    const file = path.join(dir, 'failing.sock')
    const control = await listenControl(file, async () => { throw new Error('disk full') }, log)
    try {
      assert.deepEqual(await askServer(file, { command: 'backup', dir: '/a' }), { ok: false, error: 'disk full' })
    } finally {
      await control.close()
    }
  })
})
