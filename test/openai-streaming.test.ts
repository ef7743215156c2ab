import assert from 'node:assert/strict'
import fs from 'node:fs'
import { after, before, describe, it } from 'node:test'
import OpenAI from 'openai'
import { startApp, type TestApp } from './helpers/app.ts'
import { getJob, keyHeaders, parseSse, waitForJob } from './helpers/jobs.ts'
import { librivoxMissing, librivoxRecording, utterances } from './helpers/librivox.ts'

interface StreamEvent { type: string, delta?: string, text?: string, error?: { message: string } }

/** Each `data:` line of an OpenAI-style stream (no event names, comments skipped). */
function dataLines (body: string): StreamEvent[] {
  return body.split('\n\n').filter((block) => block.trim() !== '' && !block.startsWith(':')).map((block) => {
    assert.match(block, /^data: \{.*\}$/, `an OpenAI stream block is one data line: ${block}`)
    return JSON.parse(block.slice('data: '.length)) as StreamEvent
  })
}

// Streaming transcription as OpenAI's clients consume it, on real speech: the LibriVox
// utterances one after another, which the recogniser cuts into several segments.
describe('OpenAI streaming transcription', { skip: librivoxMissing() }, () => {
  let t: TestApp
  let client: OpenAI
  let base: string
  let key: string
  const short = () => utterances().find((u) => u.id.endsWith('0880'))!
  const form = (entries: Record<string, string>, file = short().file) => {
    const body = new FormData()
    body.append('file', new Blob([new Uint8Array(fs.readFileSync(file))]), 'speech.wav')
    for (const [name, value] of Object.entries(entries)) body.append(name, value)
    return body
  }
  const post = (body: FormData, signal?: AbortSignal) =>
    fetch(`${base}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body, ...(signal ? { signal } : {}) })
  const filesLeft = async () => (await t.testDb.db.kysely.selectFrom('files').select('id').execute()).length

  before(async () => {
    t = await startApp('pglite', { WORKER_CONCURRENCY: '2', JOBS_MAX_RUNNING_FREE: '2' })
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`
    key = await t.apiKey(await t.login((await t.createUser()).email), ['files:read', 'files:write', 'jobs:read', 'jobs:write'])
    client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0, timeout: 120_000 })
  })
  after(() => t.close())

  it('streams a delta per segment while the job still runs, then the whole text, to the official client', async () => {
    const recording = librivoxRecording(1)
    const { data: stream, response } = await client.audio.transcriptions.create({ file: fs.createReadStream(recording.file), model: 'whisper-1', stream: true }).withResponse()
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/)
    const jobId = response.headers.get('tympan-job-id')!
    const deltas: string[] = []
    let done: string | undefined
    let statusAtFirstDelta: string | undefined
    for await (const event of stream) {
      if (event.type === 'transcript.text.delta') {
        if (deltas.length === 0) statusAtFirstDelta = (await getJob(t.app, key, jobId)).status
        deltas.push(event.delta)
      } else if (event.type === 'transcript.text.done') {
        done = event.text
      }
    }
    assert.ok(deltas.length >= 3, `one delta per segment: ${JSON.stringify(deltas)}`)
    assert.equal(statusAtFirstDelta, 'running', 'the first segment came while the rest were being recognised')
    assert.equal(deltas.join(''), done, 'the deltas make up the text')
    assert.match(done ?? '', /young man/)
    assert.equal((await getJob(t.app, key, jobId)).status, 'succeeded')
    assert.equal(await filesLeft(), 0, 'a streamed transcription keeps no file either')
  })

  it('writes OpenAI\'s event stream: data lines only, deltas then done (text streams too); the job\'s own events show each segment as a partial', async () => {
    const res = await post(form({ model: 'pocketsphinx', stream: 'true', response_format: 'text' }))
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
    assert.equal(res.headers.get('cache-control'), 'no-store')
    const events = dataLines(await res.text())
    assert.deepEqual(events.map((e) => e.type), [...events.slice(0, -1).map(() => 'transcript.text.delta'), 'transcript.text.done'])
    assert.ok(events.length >= 2)
    assert.equal(events.slice(0, -1).map((e) => e.delta).join(''), events.at(-1)!.text)
    assert.match(events.at(-1)!.text!, /young man/)

    const jobId = res.headers.get('tympan-job-id')!
    const job = await getJob(t.app, key, jobId)
    const log = parseSse((await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${jobId}/events`, headers: keyHeaders(key) })).body)
    const partials = log.filter((e) => e.event === 'partial').map((e) => (e.data as { segment: unknown }).segment)
    assert.deepEqual(partials, (job.result as { segments: unknown[] }).segments)
    const kinds = log.map((e) => e.event)
    assert.ok(kinds.lastIndexOf('partial') < kinds.lastIndexOf('status'), 'partials come before the job ends')
  })

  it('refuses stream with a format OpenAI does not stream, and a stream value that is not a boolean, keeping nothing', async () => {
    for (const [format, value] of [['srt', 'true'], ['vtt', 'true'], ['verbose_json', 'true'], ['json', 'yes']] as const) {
      const res = await post(form({ model: 'whisper-1', stream: value, response_format: format }))
      assert.equal(res.status, 400, `${format} ${value}`)
      const body = await res.json() as { error: { param: string, type: string, message: string } }
      assert.equal(body.error.param, 'stream')
      assert.equal(body.error.type, 'invalid_request_error')
      if (value === 'true') assert.match(body.error.message, new RegExp(`response_format ${format}`))
    }
    await assert.rejects(client.audio.transcriptions.create({ file: fs.createReadStream(short().file), model: 'whisper-1', stream: true, response_format: 'srt' }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'stream')
    // A refusal after the upload (a language not installed) is a plain error answer, not a stream.
    const refused = await post(form({ model: 'whisper-1', stream: 'true', language: 'fr' }))
    assert.equal(refused.status, 422)
    assert.match(refused.headers.get('content-type') ?? '', /^application\/json/)
    assert.equal(await filesLeft(), 0)
    assert.equal((await t.testDb.db.kysely.selectFrom('jobs').select('id').where('status', 'in', ['queued', 'running']).execute()).length, 0)
  })

  it('cancels the job and drops the upload when the client goes away mid-stream', async () => {
    const abort = new AbortController()
    const res = await post(form({ model: 'whisper-1', stream: 'true' }, librivoxRecording(1).file), abort.signal)
    assert.equal(res.status, 200)
    const jobId = res.headers.get('tympan-job-id')!
    await waitForJob(t.app, key, jobId, (j) => j.status === 'running')
    abort.abort()
    const job = await waitForJob(t.app, key, jobId)
    assert.equal(job.status, 'canceled')
    const deadline = Date.now() + 10_000
    while (await filesLeft() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(await filesLeft(), 0)
  })
})
