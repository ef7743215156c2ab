import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Transcript } from '../../engines/transcribe/transcript.ts'
import { HttpProblem } from '../../http/problem.ts'
import type { FilesService } from '../files/files.service.ts'
import type { ReceivedUpload } from '../files/multipart-upload.ts'
import type { JobsService } from '../jobs/jobs.service.ts'
import { openAiService, parseTranscriptionFields, renderTranscription } from './openai.service.ts'

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
    assert.deepEqual(request, { engine: 'pocketsphinx', language: 'en', prompt: 'Austen', temperature: 0.2, responseFormat: 'json', words: false, segments: true })
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
