import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startApp, type TestApp } from './helpers/app.ts'
import { runTympan, type CliResult } from './helpers/cli.ts'

// `tympan speak` in a child process with the real voices, here and against an in-process server.
const installed = (binary: string) => {
  try { execFileSync('which', [binary], { stdio: 'ignore' }); return true } catch { return false }
}
const skip = ['espeak-ng', 'flite', 'text2wave', 'ffprobe'].every(installed) ? false : 'festival, flite, espeak-ng and ffmpeg are needed'

const temps: string[] = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-cli-speak-'))
  temps.push(dir)
  return dir
}
after(() => { for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true }) })

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
  HOME: process.env.HOME ?? os.tmpdir(),
  LANG: 'C.UTF-8',
  TYMPAN_DATA_DIR: path.join(tempDir(), 'data'),
  ...extra
})
const run = (args: string[], options: { extra?: Record<string, string>, cwd?: string, input?: string } = {}): Promise<CliResult> =>
  runTympan(args, { env: env(options.extra), cwd: options.cwd ?? tempDir(), ...(options.input !== undefined ? { input: options.input } : {}) })

const ok = (res: CliResult) => { assert.equal(res.code, 0, `exit ${res.code}\nstdout: ${res.stdout.slice(0, 200)}\nstderr: ${res.stderr}`) }
const codecOf = (file: string, raw = false) => execFileSync('ffprobe', ['-v', 'error', ...(raw ? ['-f', 's16le', '-ar', '24000', '-ac', '1'] : []),
  '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim()

describe('tympan speak', { skip, concurrency: 2 }, () => {
  it('writes the format of --out\'s extension, with progress on stderr', async () => {
    const cwd = tempDir()
    const res = await run(['speak', 'The birch canoe slid on the smooth planks.', '--voice', 'nova', '--out', 'hello.opus'], { cwd })
    ok(res)
    assert.equal(codecOf(path.join(cwd, 'hello.opus')), 'opus')
    assert.match(res.stderr, /speaking 1\/1/)
    assert.match(res.stderr, /hello\.opus: \d+\.\d s, voice flite:slt-low/)
    assert.deepEqual(fs.readdirSync(cwd), ['hello.opus'], 'no temporary files left')
  })

  it('reads text from stdin, writes audio to stdout, and speaks a text that starts with "-" after "--"', async () => {
    const cwd = tempDir()
    const piped = await run(['speak', '--format', 'pcm', '--voice', 'espeak:de'], { cwd, input: 'Guten Tag.' })
    ok(piped)
    assert.ok(piped.stdout.length > 10_000, 'PCM bytes on stdout')
    const dashed = await run(['speak', '--out', 'dash.wav', '--', '-o /tmp/x --help'], { cwd })
    ok(dashed)
    assert.equal(codecOf(path.join(cwd, 'dash.wav')), 'pcm_s16le')
  })

  it('refuses bad options before any synthesis, writing nothing', async () => {
    const cwd = tempDir()
    // Each case costs a Node start-up: the others of these checks are the parser's, tested alike.
    const cases: [string[], RegExp][] = [
      [['speak', 'hi', '--voice', 'galadriel', '--out', 'a.mp3'], /Unknown voice "galadriel"; available: the OpenAI names alloy/],
      [['speak', 'hi', '--speed', '9', '--format', 'wav', '--out', 'a.mp3'], /--format wav does not match --out a\.mp3/],
      [['speak', '-x', '--out', 'a.mp3'], /Unknown option '-x'.*after "--"/],
      [['speak', 'hi', '--server', 'http://127.0.0.1:9', '--out', 'a.mp3'], /TYMPAN_API_KEY/]
    ]
    const results = await Promise.all(cases.map(([args]) => run(args, { cwd })))
    for (const [i, [args, message]] of cases.entries()) {
      const res = results[i]!
      assert.equal(res.code, 1, args.join(' '))
      assert.match(res.stderr, message)
      assert.doesNotMatch(res.stderr, /\n\s+at .*:\d+:\d+/, 'no stack trace')
    }
    assert.deepEqual(fs.readdirSync(cwd), [])
  })

  describe('on a server (--server)', () => {
    let t: TestApp
    let url: string
    let key: string
    before(async () => {
      t = await startApp('pglite', { WORKER_CONCURRENCY: '1' })
      await t.app.listen({ host: '127.0.0.1', port: 0 })
      url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
      key = await t.apiKey(await t.login((await t.createUser()).email), ['jobs:read', 'jobs:write'])
    })
    after(() => t.close())

    it('runs a speak job there and downloads the audio; a voice it refuses is the server\'s 422', async () => {
      const cwd = tempDir()
      ok(await run(['speak', 'Four hours of steady work faced us.', '--server', url, '--voice', 'onyx', '--out', 'remote.flac'], { cwd, extra: { TYMPAN_API_KEY: key } }))
      assert.equal(codecOf(path.join(cwd, 'remote.flac')), 'flac')
      const refused = await run(['speak', 'hi', '--server', url, '--voice', 'espeak:xx', '--out', 'no.mp3'], { cwd, extra: { TYMPAN_API_KEY: key } })
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /creating the job failed: 422 params\.voice: Unknown voice "espeak:xx"/)
      assert.deepEqual(fs.readdirSync(cwd), ['remote.flac'])
    })
  })
})
