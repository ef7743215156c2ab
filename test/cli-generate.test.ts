import assert from 'node:assert/strict'
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startApp, type TestApp } from './helpers/app.ts'
import { runTympan, type CliResult } from './helpers/cli.ts'

// `tympan generate` in a child process with the real engines, here and against an
// in-process server. Pieces are 3 s: a render costs well under a second of CPU.
const temps: string[] = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-cli-generate-'))
  temps.push(dir)
  return dir
}
after(() => { for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true }) })

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
  HOME: process.env.HOME ?? os.tmpdir(),
  LANG: 'C.UTF-8',
  // Never created: a local run needs no data directory.
  TYMPAN_DATA_DIR: path.join(tempDir(), 'data'),
  ...extra
})
const run = (args: string[], extra: Record<string, string> = {}, cwd = tempDir()): Promise<CliResult> => runTympan(args, { env: env(extra), cwd })

function refused (res: CliResult, message: RegExp): void {
  assert.equal(res.code, 1, res.stdout + res.stderr)
  assert.match(res.stderr, message)
  assert.equal(res.stdout, '')
}

describe('tympan generate', { concurrency: 2 }, () => {
  it('writes music.wav, music.mid and composition.json into --out, with progress on stderr', async () => {
    const cwd = tempDir()
    const res = await run(['generate', 'calm lofi piano, 80 bpm', '--duration', '3', '--seed', '7', '--out', 'piece'], {}, cwd)
    assert.equal(res.code, 0, res.stderr)
    const result = JSON.parse(res.stdout)
    assert.deepEqual([result.bpm, result.genre, result.seed], [80, 'lofi', 7])
    assert.match(res.stderr, /composing[\s\S]*rendering[\s\S]*encoding/)
    assert.deepEqual(fs.readdirSync(path.join(cwd, 'piece')).sort(), ['composition.json', 'music.mid', 'music.wav'])
    assert.ok(!fs.existsSync(path.join(cwd, 'data')))
    // The same prompt and seed again: the same MIDI.
    const again = await run(['generate', 'calm lofi piano, 80 bpm', '--duration', '3', '--seed', '7', '--format', 'mp3', '--out', 'again'], {}, cwd)
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(fs.readFileSync(path.join(cwd, 'again', 'music.mid')), fs.readFileSync(path.join(cwd, 'piece', 'music.mid')))
    assert.ok(fs.existsSync(path.join(cwd, 'again', 'music.mp3')))
  })

  it('refuses bad options before any work, and writes nothing', async () => {
    const cwd = tempDir()
    // Each case starts a Node process (about a second of CPU): one per kind of mistake.
    for (const [args, message] of [
      [['--duration', '0'], /--duration must be a number from 1 to 300/],
      [['--duration', 'abc'], /--duration must be a number, not "abc"/],
      [['--music-key', 'H'], /--music-key must be a key/],
      [['--format', 'ogg'], /--format must be wav or mp3/]
    ] as const) {
      refused(await run(['generate', 'pop', ...args, '--out', 'x'], {}, cwd), message)
    }
    refused(await run(['generate', '\u0007\u001b'], {}, cwd), /prompt has no printable characters/)
    refused(await run(['generate'], {}, cwd), /expected one PROMPT/)
    fs.writeFileSync(path.join(cwd, 'file'), '')
    refused(await run(['generate', 'pop', '--duration', '2', '--out', 'file'], {}, cwd), /exists and is not a directory/)
    assert.deepEqual(fs.readdirSync(cwd), ['file'])
  })

  describe('on a server (--server)', () => {
    let t: TestApp
    let url: string
    let key: string

    before(async () => {
      t = await startApp('pglite', { WORKER_CONCURRENCY: '1' })
      key = await t.apiKey(await t.login((await t.createUser()).email), ['jobs:read', 'jobs:write'])
      await t.app.listen({ host: '127.0.0.1', port: 0 })
      url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    })
    after(() => t.close())

    it('runs the job there and writes the same piece as a local run', async () => {
      const cwd = tempDir()
      const args = ['generate', 'dark techno', '--duration', '3', '--seed', '3', '--tempo', '128']
      const remote = await run([...args, '--server', url, '--out', 'remote'], { TYMPAN_API_KEY: key }, cwd)
      assert.equal(remote.code, 0, remote.stderr)
      assert.equal(JSON.parse(remote.stdout).bpm, 128)
      const local = await run([...args, '--out', 'local'], {}, cwd)
      assert.equal(local.code, 0, local.stderr)
      assert.deepEqual(fs.readFileSync(path.join(cwd, 'remote', 'music.mid')), fs.readFileSync(path.join(cwd, 'local', 'music.mid')))
      refused(await run([...args, '--server', url], {}, cwd), /TYMPAN_API_KEY/)
    })
  })
})
