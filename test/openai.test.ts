import assert from 'node:assert/strict'
import fs from 'node:fs'
import { after, before, describe, it } from 'node:test'
import OpenAI, { toFile } from 'openai'
import { startApp, type TestApp } from './helpers/app.ts'
import { fixture } from './helpers/audio.ts'
import { librivoxMissing, utterances } from './helpers/librivox.ts'

// The official client, pointed at Tympan: what an existing OpenAI integration would send.
describe('OpenAI-compatible API, driven by the official openai package', { skip: librivoxMissing() }, () => {
  let t: TestApp
  let client: OpenAI
  let base: string
  let key: string
  const speech = () => utterances().find((u) => u.id.endsWith('0880'))!

  before(async () => {
    t = await startApp('pglite', { WORKER_CONCURRENCY: '2', JOBS_MAX_RUNNING_FREE: '2' })
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    const address = t.app.server.address() as { port: number }
    base = `http://127.0.0.1:${address.port}`
    key = await t.apiKey(await t.login((await t.createUser()).email), ['files:read', 'files:write', 'jobs:read', 'jobs:write'])
    client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0, timeout: 60_000 })
  })
  after(() => t.close())

  it('answers json with the text, and deletes the upload afterwards', async () => {
    const result = await client.audio.transcriptions.create({ file: fs.createReadStream(speech().file), model: 'whisper-1' })
    assert.match(result.text, /young man/)
    const files = await t.testDb.db.kysely.selectFrom('files').select('id').execute()
    assert.equal(files.length, 0, 'the synchronous endpoint keeps no files')
  })

  it('answers verbose_json with segments and word timestamps', async () => {
    const result = await client.audio.transcriptions.create({
      file: fs.createReadStream(speech().file),
      model: 'pocketsphinx',
      response_format: 'verbose_json',
      timestamp_granularities: ['word', 'segment']
    })
    assert.equal(result.language, 'english')
    assert.ok(result.duration > 2.5 && result.duration < 3.5, `duration ${result.duration}`)
    assert.ok(result.segments && result.segments.length > 0)
    assert.ok(result.words && result.words.length >= 5, JSON.stringify(result.words))
    for (const word of result.words) assert.ok(word.end >= word.start && word.start >= 0)
    const times = result.words.map((w) => w.start)
    assert.deepEqual(times, [...times].sort((a, b) => a - b))
  })

  it('answers text, srt and vtt as plain text', async () => {
    const file = () => fs.createReadStream(speech().file)
    const text = await client.audio.transcriptions.create({ file: file(), model: 'whisper-1', response_format: 'text' })
    assert.match(String(text), /young man/)
    const srt = String(await client.audio.transcriptions.create({ file: file(), model: 'whisper-1', response_format: 'srt' }))
    assert.match(srt, /^1\r?\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\r?\n/)
    const vtt = String(await client.audio.transcriptions.create({ file: file(), model: 'whisper-1', response_format: 'vtt' }))
    assert.match(vtt, /^WEBVTT\r?\n\r?\n/)
    assert.match(vtt, /00:00:\d\d\.\d{3} --> 00:00:\d\d\.\d{3}/)
  })

  it('accepts prompt and temperature, which pocketsphinx ignores', async () => {
    const result = await client.audio.transcriptions.create({ file: fs.createReadStream(speech().file), model: 'whisper-1', prompt: 'Austen', temperature: 0.2, language: 'en' })
    assert.match(result.text, /young man/)
  })

  it('takes Tympan\'s own quality field, and refuses an unknown one with a 400 on it', async () => {
    const post = (quality: string) => {
      const form = new FormData()
      form.append('model', 'whisper-1')
      form.append('quality', quality)
      form.append('file', new Blob([fs.readFileSync(speech().file)]), 'speech.wav')
      return fetch(`${base}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form })
    }
    const accurate = await post('accurate')
    assert.equal(accurate.status, 200)
    assert.match((await accurate.json() as { text: string }).text, /young man/)
    const wrong = await post('best')
    assert.equal(wrong.status, 400)
    const body = await wrong.json() as { error: { message: string, param: string } }
    assert.equal(body.error.param, 'quality')
    assert.match(body.error.message, /fast, accurate/)
  })

  it('lists the models', async () => {
    const models = await client.models.list()
    const ids = models.data.map((m) => m.id)
    assert.ok(ids.includes('whisper-1'))
    assert.ok(ids.includes('pocketsphinx'))
  })

  it('answers errors in OpenAI\'s shape, which the client turns into typed exceptions', async () => {
    const bad = new OpenAI({ apiKey: 'tym_nope_nope', baseURL: `${base}/v1`, maxRetries: 0 })
    await assert.rejects(bad.audio.transcriptions.create({ file: fs.createReadStream(speech().file), model: 'whisper-1' }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.AuthenticationError)
      return true
    })
    await assert.rejects(client.audio.transcriptions.create({ file: fs.createReadStream(speech().file), model: 'gpt-9' }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError)
      assert.equal(error.param, 'model')
      assert.match(error.message, /gpt-9/)
      return true
    })
    await assert.rejects(client.audio.transcriptions.create({ file: fs.createReadStream(speech().file), model: 'whisper-1', language: 'fr' }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.UnprocessableEntityError, String(error))
      assert.equal(error.param, 'language')
      assert.match(error.message, /installed: en/)
      return true
    })
    await assert.rejects(client.audio.transcriptions.create({ file: await toFile(Buffer.from('not audio at all'), 'note.mp3'), model: 'whisper-1' }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.APIError)
      assert.equal(error.status, 415)
      return true
    })
    const raw = await fetch(`${base}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: (() => { const f = new FormData(); f.append('model', 'whisper-1'); f.append('file', new Blob([fs.readFileSync(fixture('wav'))]), 'a.wav'); f.append('response_format', 'yaml'); return f })() })
    assert.equal(raw.status, 400)
    const body = await raw.json() as { error: { message: string, type: string, param: string } }
    assert.equal(body.error.type, 'invalid_request_error')
    assert.equal(body.error.param, 'response_format')
    const left = await t.testDb.db.kysely.selectFrom('files').select('id').execute()
    assert.equal(left.length, 0, 'refused requests leave no files')
  })
})
