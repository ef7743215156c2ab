import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { describe, it } from 'node:test'
import type { Principal } from '../../access/permissions.ts'
import type { Job, JobEvent } from '../../db/schema.ts'
import type { Transcript } from '../../engines/transcribe/transcript.ts'
import { HttpProblem } from '../../http/problem.ts'
import type { FilesService } from '../files/files.service.ts'
import type { ReceivedUpload } from '../files/multipart-upload.ts'
import type { JobsService } from '../jobs/jobs.service.ts'
import { openAiService, parseTranscriptionFields, parseTranslationFields, renderTranscription, renderTranslation, translationTranscript } from './openai.service.ts'

const fields = (entries: [string, string][]) => {
  const map = new Map<string, string[]>()
  for (const [k, v] of entries) map.set(k, [...(map.get(k) ?? []), v])
  return map
}

const transcript: Transcript = {
  text: 'hello world',
  segments: [{ id: 0, start: 0.5, end: 1.5, text: 'hello world', words: [{ word: 'hello', start: 0.5, end: 0.9, confidence: 0.9 }, { word: 'world', start: 1, end: 1.5, confidence: 0.8 }] }],
  language: 'en',
  duration: 2,
  engine: 'pocketsphinx'
}

describe('OpenAI transcription fields', () => {
  it('maps whisper-1 to the default engine and keeps what the engine may use', () => {
    const request = parseTranscriptionFields(fields([['model', 'whisper-1'], ['language', 'en'], ['temperature', '0.2'], ['prompt', 'Austen']]), 'pocketsphinx')
    assert.deepEqual(request, { engine: 'pocketsphinx', language: 'en', prompt: 'Austen', temperature: 0.2, responseFormat: 'json', words: false, segments: true, stream: false })
    assert.equal(parseTranscriptionFields(fields([['model', 'whisper']]), 'pocketsphinx').engine, 'whisper')
  })

  it('reads timestamp_granularities[] as OpenAI clients send it', () => {
    const request = parseTranscriptionFields(fields([['model', 'whisper-1'], ['response_format', 'verbose_json'], ['timestamp_granularities[]', 'word']]), 'pocketsphinx')
    assert.equal(request.words, true)
    assert.equal(request.segments, false)
  })

  it('refuses what OpenAI refuses, naming the field', () => {
    const param = (entries: [string, string][]) => {
      try { parseTranscriptionFields(fields(entries), 'pocketsphinx') } catch (error) {
        assert.ok(error instanceof HttpProblem && error.status === 400)
        return error.extra.field
      }
      return undefined
    }
    assert.equal(param([]), 'model')
    assert.equal(param([['model', 'gpt-4o']]), 'model')
    assert.equal(param([['model', 'whisper-1'], ['response_format', 'xml']]), 'response_format')
    assert.equal(param([['model', 'whisper-1'], ['language', 'English']]), 'language')
    assert.equal(param([['model', 'whisper-1'], ['temperature', 'hot']]), 'temperature')
    assert.equal(param([['model', 'whisper-1'], ['response_format', 'verbose_json'], ['timestamp_granularities[]', 'char']]), 'timestamp_granularities[]')
    assert.equal(param([['model', 'whisper-1'], ['timestamp_granularities[]', 'word']]), 'timestamp_granularities[]')
    assert.equal(param([['model', 'whisper-1'], ['stream', 'true'], ['response_format', 'srt']]), 'stream')
    assert.equal(param([['model', 'whisper-1'], ['stream', '1']]), 'stream')
    assert.equal(param([['model', 'whisper-1'], ['quality', 'best']]), 'quality')
  })

  it('takes Tympan\'s quality field and leaves the job\'s default without it', () => {
    assert.equal(parseTranscriptionFields(fields([['model', 'whisper-1'], ['quality', 'accurate']]), 'pocketsphinx').quality, 'accurate')
    assert.equal('quality' in parseTranscriptionFields(fields([['model', 'whisper-1']]), 'pocketsphinx'), false)
  })

  it('reads stream as OpenAI clients send it, for json and text', () => {
    assert.equal(parseTranscriptionFields(fields([['model', 'whisper-1'], ['stream', 'true']]), 'pocketsphinx').stream, true)
    assert.equal(parseTranscriptionFields(fields([['model', 'whisper-1'], ['stream', 'true'], ['response_format', 'text']]), 'pocketsphinx').stream, true)
    assert.equal(parseTranscriptionFields(fields([['model', 'whisper-1'], ['stream', 'false'], ['response_format', 'srt']]), 'pocketsphinx').stream, false)
  })
})

describe('OpenAI response formats', () => {
  const render = (format: string, extra: [string, string][] = []) =>
    renderTranscription(transcript, parseTranscriptionFields(fields([['model', 'whisper-1'], ['response_format', format], ...extra]), 'pocketsphinx'))

  it('answers each format with OpenAI\'s content type and shape', () => {
    assert.deepEqual(render('json'), { contentType: 'application/json; charset=utf-8', body: { text: 'hello world' } })
    assert.deepEqual(render('text'), { contentType: 'text/plain; charset=utf-8', body: 'hello world\n' })
    assert.match(String(render('srt').body), /^1\n00:00:00,500 --> 00:00:01,500\nhello world\n/)
    assert.match(String(render('vtt').body), /^WEBVTT\n\n(1\n)?00:00:00\.500 --> 00:00:01\.500\nhello world\n/)
    const verbose = render('verbose_json', [['timestamp_granularities[]', 'word'], ['timestamp_granularities[]', 'segment']]).body as { language: string, words: unknown[], segments: unknown[] }
    assert.equal(verbose.language, 'english')
    assert.equal(verbose.words.length, 2)
    assert.equal(verbose.segments.length, 1)
  })
})

describe('openAiService.parse', () => {
  const service = (discarded: string[]) => openAiService({
    files: { discard: async (staged) => { discarded.push(staged.path) } } as Pick<FilesService, 'discard'> as FilesService,
    jobs: {} as JobsService, syncTimeoutMs: 1000, defaultEngine: 'pocketsphinx'
  })
  const upload = (entries: [string, string][]): ReceivedUpload => ({ staged: { path: '/staging/u', size: 1, sha256: 'ab' }, name: 'a.wav', fields: fields(entries) })

  it('keeps the upload of a request it accepts', async () => {
    const discarded: string[] = []
    assert.equal((await service(discarded).parse(upload([['model', 'whisper-1']]))).engine, 'pocketsphinx')
    assert.deepEqual(discarded, [])
  })

  it('discards the staged upload of a request it refuses', async () => {
    const discarded: string[] = []
    await assert.rejects(service(discarded).parse(upload([['model', 'gpt-9']])), (error: unknown) => error instanceof HttpProblem && error.status === 400)
    assert.deepEqual(discarded, ['/staging/u'])
  })
})

describe('openAiService.transcribeStream', () => {
  const segment = (id: number, text: string) => ({ id, start: id, end: id + 1, text, words: [] })
  const three = { ...transcript, text: 'one two three', segments: [segment(0, 'one'), segment(1, 'two'), segment(2, 'three')] }
  const event = (id: number, kind: JobEvent['kind'], data: Record<string, unknown>): JobEvent => ({ id, job_id: 'j', kind, data, at: new Date() })
  const job = (fields: Partial<Job>): Job => ({ id: 'j', owner_id: 'u', type: 'transcribe', file_id: 'f', params: {}, status: 'succeeded', progress: 1, stage: '', attempts: 1, error: null, error_code: null, result: three, created_at: new Date(), started_at: null, finished_at: null, expires_at: null, ...fields })

  function service (log: JobEvent[], end: Job | undefined) {
    const calls: string[] = []
    const openai = openAiService({
      files: {
        accept: async () => ({ id: 'f' }),
        delete: async (_p: unknown, id: string) => { calls.push(`delete file ${id}`) }
      } as unknown as FilesService,
      jobs: {
        create: async () => ({ id: 'j' }),
        async * follow () { yield * log; return end },
        cancelOrDelete: async () => { calls.push('cancel job'); return { deleted: true } }
      } as unknown as JobsService,
      syncTimeoutMs: 1000,
      defaultEngine: 'pocketsphinx'
    })
    const request = parseTranscriptionFields(fields([['model', 'whisper-1'], ['stream', 'true']]), 'pocketsphinx')
    const upload: ReceivedUpload = { staged: { path: '/staging/u', size: 1, sha256: 'ab' }, name: 'a.wav', fields: new Map() }
    const collect = async (abort = new AbortController().signal) => {
      const out: unknown[] = []
      for await (const e of (await openai.transcribeStream(principal, upload, request, abort)).events) out.push(e)
      return out
    }
    return { collect, calls }
  }
  const principal = { userId: 'u' } as unknown as Principal

  it('sends each segment once, in order, though a retried attempt reports them again, and what the partials missed before done', async () => {
    const log = [
      event(1, 'status', { status: 'running', attempt: 1 }),
      event(2, 'partial', { segment: segment(0, 'one') }),
      event(3, 'progress', { progress: 0.5, stage: 'recognising' }),
      event(4, 'status', { status: 'running', attempt: 2 }),
      event(5, 'partial', { segment: segment(0, 'one') }),
      event(6, 'partial', { segment: segment(1, 'two') })
    ]
    const { collect, calls } = service(log, job({}))
    assert.deepEqual(await collect(), [
      { type: 'transcript.text.delta', delta: 'one' },
      { type: 'transcript.text.delta', delta: ' two' },
      { type: 'transcript.text.delta', delta: ' three' },
      { type: 'transcript.text.done', text: 'one two three' }
    ])
    assert.deepEqual(calls, ['delete file f'])
  })

  it('ends a failed job with an error event, which the client throws', async () => {
    const { collect } = service([], job({ status: 'failed', error: 'The file contains no audio.', error_code: 'invalid_input', result: null }))
    assert.deepEqual(await collect(), [{ type: 'error', error: { message: 'The file contains no audio.', type: 'invalid_request_error', code: 'invalid_input' } }])
  })

  it('names the job that goes on past the limit, and cancels it when the client left', async () => {
    const late = service([], undefined)
    const [timeout] = await late.collect() as Array<{ error: { message: string } }>
    assert.match(timeout!.error.message, /goes on as job j/)
    assert.deepEqual(late.calls, [], 'the job keeps its file')
    const left = service([], undefined)
    assert.deepEqual(await left.collect(AbortSignal.abort()), [])
    assert.deepEqual(left.calls, ['cancel job', 'delete file f'])
  })
})

describe('OpenAI translations', () => {
  it('takes the transcription fields and Tympan\'s language, but no stream', () => {
    const request = parseTranslationFields(fields([['model', 'whisper-1'], ['language', 'fr'], ['response_format', 'srt']]), 'pocketsphinx')
    assert.deepEqual(request, { engine: 'pocketsphinx', language: 'fr', responseFormat: 'srt', words: false, segments: true })
    assert.throws(() => parseTranslationFields(fields([['model', 'whisper-1'], ['stream', 'true']]), 'pocketsphinx'), (error: unknown) => error instanceof HttpProblem && error.extra.field === 'stream')
  })

  it('answers verbose_json as a translation, and a translate job\'s file as timed English segments', () => {
    const request = parseTranslationFields(fields([['model', 'whisper-1'], ['response_format', 'verbose_json']]), 'pocketsphinx')
    const body = renderTranslation(transcript, request).body as { task: string, language: string, text: string }
    assert.deepEqual([body.task, body.language, body.text], ['translate', 'english', 'hello world'])
    const english = translationTranscript({ duration: 3, text: 'good day', segments: [{ id: 0, start: 0.5, end: 1, text: 'good day' }, { id: 1, start: 2, end: 2.5, text: '' }] }, 'whisper')
    assert.deepEqual(english, { text: 'good day', segments: [{ id: 0, start: 0.5, end: 1, text: 'good day', words: [] }], language: 'en', duration: 3, engine: 'whisper' })
    assert.match(String(renderTranslation(english, { ...request, responseFormat: 'srt' }).body), /^1\n00:00:00,500 --> 00:00:01,000\ngood day\n/)
  })

  it('transcribes English speech and sends any other language through a translate job into English', async () => {
    const created: Array<{ type: string, params: unknown }> = []
    const file = { duration: 2, text: 'hello', segments: [{ id: 0, start: 0, end: 1, text: 'hello' }] }
    const service = openAiService({
      files: { accept: async () => ({ id: 'f' }), delete: async () => {} } as unknown as FilesService,
      jobs: {
        create: async (_p: unknown, job: { type: string, params: unknown }) => { created.push(job); return { id: job.type } },
        waitFor: async (id: string) => ({ id, status: 'succeeded', result: id === 'transcribe' ? transcript : { engine: 'whisper' } }),
        artifact: async (_p: unknown, _id: string, name: string) => { assert.equal(name, 'translation.json'); return { stream: Readable.from([Buffer.from(JSON.stringify(file))]) } }
      } as unknown as JobsService,
      syncTimeoutMs: 1000,
      defaultEngine: 'pocketsphinx'
    })
    const upload: ReceivedUpload = { staged: { path: '/staging/u', size: 1, sha256: 'ab' }, name: 'a.wav', fields: new Map() }
    const principal = { userId: 'u' } as unknown as Principal
    const english = await service.translate(principal, upload, parseTranslationFields(fields([['model', 'whisper-1'], ['quality', 'accurate']]), 'pocketsphinx'), new AbortController().signal)
    assert.equal(english.transcript.text, 'hello world')
    const french = await service.translate(principal, upload, parseTranslationFields(fields([['model', 'whisper'], ['language', 'fr']]), 'pocketsphinx'), new AbortController().signal)
    assert.equal(french.transcript.text, 'hello')
    assert.deepEqual(created.map((c) => c.type), ['transcribe', 'translate'])
    assert.deepEqual(created[0]!.params, { engine: 'pocketsphinx', quality: 'accurate', wordTimestamps: false })
    assert.deepEqual(created[1]!.params, { source_lang: 'fr', target_lang: 'en', engine: 'whisper' })
  })
})
