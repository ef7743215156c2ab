import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { parseMidi } from 'midi-file'
import { startApp, type TestApp } from './helpers/app.ts'
import { backends } from './helpers/db.ts'
import { fixture } from './helpers/audio.ts'
import { createJob, keyHeaders, uploadFile, waitForJob } from './helpers/jobs.ts'

// Music generation through the API, on the real composer, FluidSynth and ffmpeg: short pieces.
const JOB_SCOPES = ['files:read', 'files:write', 'jobs:read', 'jobs:write']

for (const backend of await backends()) {
  describe(`music generation through the API (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let key: string

    before(async () => {
      t = await startApp(backend.name, { WORKER_CONCURRENCY: '1' })
      key = await t.apiKey(await t.login((await t.createUser()).email), JOB_SCOPES)
    })
    after(() => t.close())

    const generate = (payload: unknown) => t.app.inject({ method: 'POST', url: '/api/v1/generate', headers: keyHeaders(key), payload: payload as Record<string, unknown> })
    const download = async (jobId: string, name: string) => {
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${jobId}/artifacts/${name}`, headers: keyHeaders(key) })
      assert.equal(res.statusCode, 200)
      return res
    }
    const generateJobs = async () => (await t.app.inject({ method: 'GET', url: '/api/v1/jobs?type=generate', headers: keyHeaders(key) })).json().items as { id: string }[]

    it('POST /api/v1/generate queues a generate job that makes music, MIDI and its description', async () => {
      const params = { prompt: 'energetic rock with guitar, 132 bpm', durationSec: 4, seed: 11 }
      const res = await generate(params)
      assert.equal(res.statusCode, 202, res.body)
      const created = res.json()
      assert.equal(res.headers.location, `/api/v1/jobs/${created.id}`)
      assert.equal(created.type, 'generate')
      assert.equal(created.fileId, null)
      assert.deepEqual(created.params, { ...params, format: 'wav' })
      const job = await waitForJob(t.app, key, created.id)
      assert.equal(job.status, 'succeeded', job.error ?? '')
      assert.deepEqual(job.artifacts.map((a) => a.name).sort(), ['composition.json', 'music.mid', 'music.wav'])
      const result = job.result as { bpm: number, genre: string, durationSec: number, format: string }
      assert.deepEqual([result.bpm, result.genre, result.durationSec, result.format], [132, 'rock', 4, 'wav'])
      const wav = await download(job.id, 'music.wav')
      assert.equal(wav.headers['content-type'], 'audio/wav')
      assert.equal(wav.rawPayload.subarray(0, 4).toString('latin1'), 'RIFF')
      const midi = (await download(job.id, 'music.mid')).rawPayload
      assert.equal(parseMidi(midi).header.format, 1)
      const description = (await download(job.id, 'composition.json')).json()
      assert.equal(description.tempo.from, '"132 bpm" in the prompt')

      // The same params as a plain job: the same piece, byte for byte.
      const again = await waitForJob(t.app, key, (await createJob(t.app, key, { type: 'generate', params })).id)
      assert.equal(again.status, 'succeeded')
      assert.deepEqual((await download(again.id, 'music.mid')).rawPayload, midi)
    })

    it('refuses bad input with a 422 naming the field, and creates no job', async () => {
      const before = (await generateJobs()).length
      const ok = { prompt: 'calm piano', durationSec: 4 }
      const cases: [Record<string, unknown>, string][] = [
        [{ ...ok, durationSec: 0 }, 'body.durationSec'],
        [{ ...ok, durationSec: 301 }, 'body.durationSec'],
        [{ ...ok, durationSec: 'abc' }, 'body.durationSec'],
        [{ ...ok, prompt: 'piano '.repeat(1667) }, 'body.prompt'],
        [{ ...ok, prompt: '' }, 'body.prompt'],
        [{ ...ok, prompt: '\u0000\u0001\u0007\u001b\u007f\u200b \t\n' }, 'body.prompt'],
        [{ ...ok, format: 'ogg' }, 'body.format'],
        [{ ...ok, key: 'H major' }, 'body.key'],
        [{ ...ok, key: 'A minor; rm -rf /' }, 'body.key'],
        [{ ...ok, tempo: 10 }, 'body.tempo'],
        [{ ...ok, seed: 1.5 }, 'body.seed'],
        [{ ...ok, fileId: '00000000-0000-4000-8000-000000000000' }, 'body.fileId'],
        [{ durationSec: 4 }, 'body.prompt']
      ]
      for (const [payload, field] of cases) {
        const res = await generate(payload)
        assert.equal(res.statusCode, 422, `${JSON.stringify(payload).slice(0, 80)}: ${res.body}`)
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
        assert.equal(res.json().field, field, JSON.stringify(payload).slice(0, 80))
      }
      // The same rules through POST /api/v1/jobs, and a generate job takes no file.
      const fileId = await uploadFile(t.app, key, fixture('wav'))
      const withFile = await t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(key), payload: { type: 'generate', fileId, params: ok } })
      assert.equal(withFile.statusCode, 422)
      assert.equal(withFile.json().field, 'fileId')
      const tooLong = await t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(key), payload: { type: 'generate', params: { ...ok, durationSec: 301 } } })
      assert.equal(tooLong.statusCode, 422)
      assert.equal(tooLong.json().field, 'params.durationSec')
      assert.equal((await generateJobs()).length, before)
    })

    it('composes from a prompt whose control characters are stripped', async () => {
      const res = await generate({ prompt: 'sad\u0000 piano\u001b[0m\u0007 ballad', durationSec: 2, format: 'mp3' })
      assert.equal(res.statusCode, 202, res.body)
      const job = await waitForJob(t.app, key, res.json().id)
      assert.equal(job.status, 'succeeded', job.error ?? '')
      assert.ok(job.artifacts.some((a) => a.name === 'music.mp3'))
      assert.equal(job.params.prompt, 'sad piano [0m ballad')
      const description = (await download(job.id, 'composition.json')).json()
      assert.equal(description.prompt, 'sad piano [0m ballad')
      assert.equal(description.key.value.endsWith('minor'), true)
    })

    it('needs jobs:write, and documents the route', async () => {
      const reader = await t.apiKey(await t.login((await t.createUser()).email), ['jobs:read'])
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/generate', headers: keyHeaders(reader), payload: { prompt: 'pop', durationSec: 2 } })
      assert.equal(res.statusCode, 403)
      const paths = (await t.app.inject('/openapi.json')).json().paths
      assert.ok(Object.keys(paths['/api/v1/generate'].post.responses).includes('202'))
      const engines = (await t.app.inject({ method: 'GET', url: '/api/v1/engines', headers: keyHeaders(key) })).json()
      assert.ok(JSON.stringify(engines).includes('"generate"'))
    })
  })
}
