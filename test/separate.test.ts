import assert from 'node:assert/strict'
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startApp, type TestApp } from './helpers/app.ts'
import { fixture } from './helpers/audio.ts'
import { runTympan } from './helpers/cli.ts'
import { createJob, keyHeaders, uploadFile, waitForJob } from './helpers/jobs.ts'

// The separate job through the API and the CLI, with the real engine on the 3 s stereo
// fixture: one job over HTTP, one local CLI run and one CLI run against the server.
const JOB_SCOPES = ['files:read', 'files:write', 'jobs:read', 'jobs:write']
const STEMS_4 = ['vocals.wav', 'drums.wav', 'bass.wav', 'other.wav', 'summary.json']

const temps: string[] = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-separate-'))
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

describe('separate jobs', { concurrency: 2 }, () => {
  let t: TestApp
  let key: string
  let url: string
  let fileId: string
  // A second user for the refusals, so that the other cases' jobs do not change its count.
  let otherKey: string
  let otherFileId: string

  before(async () => {
    t = await startApp('pglite', { WORKER_CONCURRENCY: '2' })
    key = await t.apiKey(await t.login((await t.createUser()).email), JOB_SCOPES)
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    fileId = await uploadFile(t.app, key, fixture('wav'))
    otherKey = await t.apiKey(await t.login((await t.createUser()).email), JOB_SCOPES)
    otherFileId = await uploadFile(t.app, otherKey, fixture('wav'))
  })
  after(() => t.close())

  it('refuses bad params with a 422 that names the field, and creates no job', async () => {
    const before = (await t.app.inject({ method: 'GET', url: '/api/v1/jobs', headers: keyHeaders(otherKey) })).json().items.length
    for (const [params, field] of [
      [{ stems: 3 }, 'params.stems'],
      [{ stems: '4' }, 'params.stems'],
      [{ format: 'ogg' }, 'params.format'],
      [{ stems: 4, model: 'demucs' }, 'params.model']
    ] as const) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(otherKey), payload: { type: 'separate', fileId: otherFileId, params } })
      assert.equal(res.statusCode, 422, JSON.stringify(params))
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
      assert.equal(res.json().field, field)
    }
    const noFile = await t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(otherKey), payload: { type: 'separate', params: {} } })
    assert.equal(noFile.statusCode, 422)
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/jobs', headers: keyHeaders(otherKey) })).json().items.length, before)
  })

  it('separates an uploaded file into four stems and a summary', async () => {
    const created = await createJob(t.app, key, { type: 'separate', fileId, params: {} })
    const job = await waitForJob(t.app, key, created.id, undefined, 120_000)
    assert.equal(job.status, 'succeeded', JSON.stringify(job))
    assert.deepEqual(job.artifacts.map((a) => a.name).sort(), [...STEMS_4].sort())
    const result = job.result as { stems: string[], channels: number, energyShare: Record<string, number> }
    assert.deepEqual(result.stems, ['vocals', 'drums', 'bass', 'other'])
    assert.equal(result.channels, 2)
    const wav = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}/artifacts/bass.wav`, headers: keyHeaders(key) })
    assert.equal(wav.statusCode, 200)
    assert.equal(wav.headers['content-type'], 'audio/wav')
    assert.equal(wav.rawPayload.subarray(0, 4).toString('latin1'), 'RIFF')
  })

  it('tympan separate: stems to --out here, refusals before any work, and the same on a server', async () => {
    const cwd = tempDir()
    const local = await runTympan(['separate', fixture('wav'), '--stems', '2', '--format', 'flac', '--out', 'stems'], { env: env(), cwd })
    assert.equal(local.code, 0, local.stderr)
    assert.deepEqual(fs.readdirSync(path.join(cwd, 'stems')).sort(), ['accompaniment.flac', 'summary.json', 'vocals.flac'])
    assert.deepEqual(JSON.parse(local.stdout).stems, ['vocals', 'accompaniment'])
    assert.match(local.stderr, /separating/)

    for (const [args, message] of [
      [['separate', fixture('wav'), '--stems', '3'], /--stems must be 2 or 4/],
      [['separate', fixture('wav'), '--format', 'ogg'], /--format must be one of wav, flac, mp3/],
      [['separate', path.join(cwd, 'missing.wav')], /no such file/],
      [['separate', fixture('wav'), '--out', path.join(cwd, 'stems', 'summary.json')], /exists and is not a directory/]
    ] as const) {
      const res = await runTympan([...args], { env: env(), cwd })
      assert.equal(res.code, 1, args.join(' '))
      assert.match(res.stderr, message)
    }

    const remote = await runTympan(['separate', fixture('wav'), '--server', url, '--out', 'remote'], { env: env({ TYMPAN_API_KEY: key }), cwd })
    assert.equal(remote.code, 0, remote.stderr)
    assert.deepEqual(fs.readdirSync(path.join(cwd, 'remote')).sort(), [...STEMS_4].sort())
  })
})
