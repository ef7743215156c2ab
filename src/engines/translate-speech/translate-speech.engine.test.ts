import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { EngineError, type Engine, type EngineContext, type EngineInput } from '../engine.ts'
import type { TranscribeParams, Transcript } from '../transcribe/transcript.ts'
import { createSpeechTranslator, type ClipSynthesiser, type SegmentTranslator } from './translate-speech.engine.ts'

const word = (w: string, start: number, end: number) => ({ word: w, start, end, confidence: 1 })
const transcript: Transcript = {
  text: 'hello there how are you',
  segments: [
    { id: 0, start: 0.2, end: 1.6, text: 'hello there', words: [word('hello', 0.4, 0.8), word('there', 0.9, 1.4)] },
    { id: 1, start: 2, end: 3.6, text: 'how are you', words: [word('how', 2.1, 2.4), word('are', 2.5, 2.8), word('you', 2.9, 3.3)] }
  ],
  language: 'en',
  duration: 4,
  engine: 'pocketsphinx'
}

/** Stands in for a recogniser: the transcript above, its artifacts written like the real ones. */
const recogniser: Engine<TranscribeParams, Transcript> = {
  name: 'pocketsphinx',
  status: async () => ({ name: 'pocketsphinx', available: true, package: 'pocketsphinx' }),
  async run (_input, params, context) {
    assert.equal(params.language, 'en')
    context.progress(1, 'recognising 2/2')
    const names = ['transcript.txt', 'transcript.srt', 'transcript.vtt', 'transcript.json', 'transcript.verbose.json']
    return { result: transcript, artifacts: names.map((name) => { fs.writeFileSync(path.join(context.workDir, name), name); return { name, path: path.join(context.workDir, name), contentType: 'text/plain' } }) }
  }
}

const translator: SegmentTranslator = {
  translateMany: async (texts, from, to) => ({ translations: texts.map((t) => `${to}:${t}`), route: [from, to] })
}

/** A tone per text, 0.6 s a word (the language tag counts as one). */
function synthesiser (calls: string[], fail?: string): ClipSynthesiser {
  return {
    async synthesise (request, outPath, opts) {
      calls.push(request.text)
      if (request.text === fail) throw new EngineError('invalid-input', 'Unknown voice')
      const seconds = (request.text.split(/[ :]/).length) * 0.6
      execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `sine=frequency=300:sample_rate=16000:duration=${seconds}`, '-ac', '1', outPath])
      assert.ok(opts.workDir && !opts.signal.aborted)
      return { durationSec: seconds, voice: request.voice ?? 'default', sampleRate: 16_000 }
    }
  }
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-s2s-'))
after(() => { fs.rmSync(root, { recursive: true, force: true }) })
let dirs = 0
function context (stages: Array<[number, string]>): EngineContext {
  const workDir = path.join(root, `work-${dirs++}`)
  fs.mkdirSync(workDir)
  return { progress: (fraction, label) => { stages.push([fraction, label]) }, signal: new AbortController().signal, workDir, parallelism: 2 }
}

describe('speech translation engine', () => {
  const input = { path: '/unused.wav', durationSec: 4 }

  it('transcribes, translates every segment, writes subtitles on the source timings, and leaves the source transcript', async () => {
    const stages: Array<[number, string]> = []
    const engine = createSpeechTranslator({ transcribe: { pocketsphinx: recogniser }, translator, synthesiser: synthesiser([]) })
    const ctx = context(stages)
    const { result, artifacts } = await engine.run(input, { source_lang: 'en', target_lang: 'es', engine: 'pocketsphinx' }, ctx)
    assert.deepEqual(result, { source_lang: 'en', target_lang: 'es', route: ['en', 'es'], engine: 'pocketsphinx', segments: 2, duration: 4, text: 'es:hello there es:how are you' })
    assert.deepEqual(artifacts.map((a) => a.name), ['source.txt', 'source.srt', 'source.vtt', 'source.json', 'translation.txt', 'translation.srt', 'translation.vtt', 'translation.json'])
    const srt = fs.readFileSync(artifacts.find((a) => a.name === 'translation.srt')!.path, 'utf8')
    assert.equal(srt, '1\n00:00:00,400 --> 00:00:01,400\nes:hello there\n\n2\n00:00:02,100 --> 00:00:03,300\nes:how are you\n')
    const json = JSON.parse(fs.readFileSync(artifacts.find((a) => a.name === 'translation.json')!.path, 'utf8')) as { segments: Array<{ source: string, text: string }> }
    assert.deepEqual(json.segments.map((s) => [s.source, s.text]), [['hello there', 'es:hello there'], ['how are you', 'es:how are you']])
    const fractions = stages.map(([f]) => f)
    assert.deepEqual(fractions, [...fractions].sort((a, b) => a - b), 'progress only goes forward')
    for (const artifact of artifacts) assert.ok(artifact.path.startsWith(ctx.workDir))
  })

  it('hands the job\'s quality to the recogniser, and leaves its default without one', async () => {
    const seen: Array<TranscribeParams['quality']> = []
    const listening = { ...recogniser, run: async (i: EngineInput, params: TranscribeParams, c: EngineContext) => { seen.push(params.quality); return recogniser.run(i, params, c) } }
    const engine = createSpeechTranslator({ transcribe: { pocketsphinx: listening }, translator, synthesiser: synthesiser([]) })
    await engine.run(input, { source_lang: 'en', target_lang: 'es', engine: 'pocketsphinx', quality: 'accurate' }, context([]))
    await engine.run(input, { source_lang: 'en', target_lang: 'es', engine: 'pocketsphinx' }, context([]))
    assert.deepEqual(seen, ['accurate', undefined])
  })

  it('speaks each translated segment at its source start, sped up where it would run into the next, in one WAV as long as the source', async () => {
    const calls: string[] = []
    const engine = createSpeechTranslator({ transcribe: { pocketsphinx: recogniser }, translator, synthesiser: synthesiser(calls) })
    const { result, artifacts } = await engine.run(input, { source_lang: 'en', target_lang: 'es', engine: 'pocketsphinx', speak: true, voice: 'v1' }, context([]))
    assert.deepEqual(calls.sort(), ['es:hello there', 'es:how are you'])
    assert.equal(artifacts.at(-1)!.name, 'speech.wav')
    const seconds = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', artifacts.at(-1)!.path]).toString())
    assert.ok(Math.abs(seconds - 4) < 0.02, `${seconds} s`)
    // "es:hello there" (1.8 s) from 0.4 s has 1.7 s until the next; "es:how are you" (2.4 s) from 2.1 s has 1.9 s until the end.
    assert.deepEqual(result.speech, { voice: 'v1', duration: 4, sampleRate: 16_000, maxSpeed: 1.2632, delayedClips: 0 })
  })

  it('stops synthesising at the first failure and reports it', async () => {
    const calls: string[] = []
    const many: Transcript = { ...transcript, segments: Array.from({ length: 8 }, (_, i) => ({ id: i, start: i, end: i + 0.5, text: `word${i}`, words: [] })) }
    const engine = createSpeechTranslator({
      transcribe: { pocketsphinx: { ...recogniser, run: async () => ({ result: many, artifacts: [] }) } },
      translator,
      synthesiser: synthesiser(calls, 'es:word1')
    })
    await assert.rejects(engine.run(input, { source_lang: 'en', target_lang: 'es', engine: 'pocketsphinx', speak: true }, context([])), /Unknown voice/)
    assert.ok(calls.length <= 3, `no new clip after the failure: ${calls.join(', ')}`)
  })

  it('translates silence into empty files without calling the translator', async () => {
    const silent: Transcript = { ...transcript, text: '', segments: [] }
    const engine = createSpeechTranslator({
      transcribe: { pocketsphinx: { ...recogniser, run: async () => ({ result: silent, artifacts: [] }) } },
      translator: { translateMany: async () => { throw new Error('not called') } },
      synthesiser: synthesiser([])
    })
    const { result, artifacts } = await engine.run(input, { source_lang: 'en', target_lang: 'es', engine: 'pocketsphinx', speak: true }, context([]))
    assert.equal(result.segments, 0)
    assert.equal(result.speech?.duration, 4)
    assert.equal(fs.readFileSync(artifacts.find((a) => a.name === 'translation.txt')!.path, 'utf8'), '')
  })
})
