import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import OpenAI from 'openai'
import { binaryInstalled } from '../src/engines/transcribe/installed.ts'
import { startApp, type TestApp } from './helpers/app.ts'
import { runTympan } from './helpers/cli.ts'
import { createJob, keyHeaders, uploadFile, waitForJob } from './helpers/jobs.ts'
import { librivoxMissing, librivoxRecording, utterances } from './helpers/librivox.ts'

const skip = librivoxMissing() || (await binaryInstalled('apertium', 'apertium') ? false : 'apertium is not installed')

interface Cue { start: number, end: number, text: string }

/** SRT cues with their times in seconds. */
function cues (srt: string): Cue[] {
  const seconds = (t: string) => { const [h, m, s] = t.replace(',', '.').split(':').map(Number); return h! * 3600 + m! * 60 + s! }
  return srt.trim().split(/\n\n+/).filter(Boolean).map((block) => {
    const [, times, ...text] = block.split('\n')
    const [from, to] = times!.split(' --> ')
    return { start: seconds(from!), end: seconds(to!), text: text.join('\n') }
  })
}

const duration = (file: string) => Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]).toString())

// Speech translation end to end on the real engines: pocketsphinx, Apertium and espeak-ng.
describe('speech translation', { skip }, () => {
  let t: TestApp
  let key: string
  let base: string
  const short = () => utterances().find((u) => u.id.endsWith('0880'))!
  const artifact = async (jobId: string, name: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${jobId}/artifacts/${name}`, headers: keyHeaders(key) })
    assert.equal(res.statusCode, 200, `${name}: ${res.body}`)
    return res.rawPayload
  }

  before(async () => {
    t = await startApp('pglite', { WORKER_CONCURRENCY: '1' })
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`
    key = await t.apiKey(await t.login((await t.createUser()).email), ['files:read', 'files:write', 'jobs:read', 'jobs:write'])
  })
  after(() => t.close())

  it('translates LibriVox speech into Spanish: subtitles on the source timings, and speech as long as the source', async () => {
    const recording = librivoxRecording(1)
    const fileId = await uploadFile(t.app, key, recording.file)
    const job = await createJob(t.app, key, { type: 'translate', fileId, params: { target_lang: 'spa', speak: true } })
    assert.deepEqual(job.params, { target_lang: 'es', source_lang: 'en', speak: true })
    const done = await waitForJob(t.app, key, job.id, undefined, 300_000)
    assert.equal(done.status, 'succeeded', done.error ?? '')
    assert.deepEqual(done.artifacts.map((a) => a.name).sort(), ['source.json', 'source.srt', 'source.txt', 'source.vtt', 'speech.wav', 'translation.json', 'translation.srt', 'translation.txt', 'translation.vtt'])
    const result = done.result as { source_lang: string, target_lang: string, route: string[], segments: number, duration: number, text: string, speech: { duration: number, voice: string, maxSpeed: number } }
    assert.deepEqual([result.source_lang, result.target_lang, result.route], ['en', 'es', ['en', 'es']])
    assert.ok(result.segments >= 3, `segments: ${result.segments}`)
    assert.match(result.text, /\b(joven|hombre|no)\b/, result.text)

    // Every translated segment starts and ends where a source subtitle does, and its own cues stay inside it.
    const translation = JSON.parse((await artifact(job.id, 'translation.json')).toString()) as { segments: Array<{ start: number, end: number, source: string, text: string }> }
    const source = cues((await artifact(job.id, 'source.srt')).toString())
    const translated = cues((await artifact(job.id, 'translation.srt')).toString())
    const near = (a: number, b: number) => Math.abs(a - b) < 0.0015
    for (const segment of translation.segments.filter((s) => s.text !== '')) {
      assert.ok(source.some((c) => near(c.start, segment.start)), `a source cue starts at ${segment.start}`)
      assert.ok(source.some((c) => near(c.end, segment.end)), `a source cue ends at ${segment.end}`)
      const own = translated.filter((c) => c.start >= segment.start - 0.0015 && c.end <= segment.end + 0.0015)
      assert.ok(own.length >= 1, `cues of the segment at ${segment.start}`)
      assert.ok(near(own[0]!.start, segment.start) && near(own.at(-1)!.end, segment.end))
    }
    assert.equal(translated.length >= translation.segments.filter((s) => s.text !== '').length, true)
    assert.match((await artifact(job.id, 'translation.vtt')).toString(), /^WEBVTT\n/)

    const speech = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-s2s-')), 'speech.wav')
    fs.writeFileSync(speech, await artifact(job.id, 'speech.wav'))
    const seconds = duration(speech)
    assert.ok(Math.abs(seconds - duration(recording.file)) < 0.1, `speech ${seconds} s, source ${duration(recording.file)} s`)
    assert.ok(Math.abs(result.speech.duration - seconds) < 0.05)
    assert.match(result.speech.voice, /^espeak:es/)
    assert.ok(result.speech.maxSpeed >= 1 && result.speech.maxSpeed <= 2)
  })

  it('refuses at creation what cannot work, naming the field and what would, and queues nothing', async () => {
    const fileId = await uploadFile(t.app, key, short().file)
    const refused = async (params: Record<string, unknown>) => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(key), payload: { type: 'translate', fileId, params } })
      assert.equal(res.statusCode, 422, res.body)
      const body = res.json() as { detail: string, field: string, targets?: string[] }
      return body
    }
    const noRoute = await refused({ target_lang: 'de' })
    assert.equal(noRoute.field, 'params.target_lang')
    assert.match(noRoute.detail, /into German \(de\): English \(en\) translates into [a-z, ]*\bes\b/)
    assert.ok(noRoute.targets?.includes('es') && noRoute.targets.includes('pt'), 'direct and pivot targets')
    assert.equal((await refused({ target_lang: 'xx' })).field, 'params.target_lang')
    assert.equal((await refused({ target_lang: 'EN' })).field, 'params.target_lang')
    assert.match((await refused({ target_lang: 'en' })).detail, /same language \(en\)/)
    assert.match((await refused({ target_lang: 'eng', source_lang: 'en' })).detail, /same language/)
    const voice = await refused({ target_lang: 'es', speak: true, voice: 'nobody' })
    assert.equal(voice.field, 'params.voice')
    assert.match(voice.detail, /Unknown voice "nobody"; available: /)
    assert.equal((await refused({ target_lang: 'es', voice: 'espeak:es' })).field, 'params.voice')
    const french = await refused({ target_lang: 'es', source_lang: 'fr' })
    assert.deepEqual([french.field, french.detail], ['params.source_lang', 'No installed recogniser hears French (fr): pocketsphinx knows en'])
    assert.equal((await refused({ target_lang: 'es', max_speed: 9 })).field, 'params.max_speed')
    const jobs = await t.testDb.db.kysely.selectFrom('jobs').select('id').where('file_id', '=', fileId).execute()
    assert.equal(jobs.length, 0)
  })

  it('answers /v1/audio/translations to the official client: English speech as English text, another language a clear 422', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0, timeout: 120_000 })
    const filesBefore = (await t.testDb.db.kysely.selectFrom('files').select('id').execute()).length
    const english = await client.audio.translations.create({ file: fs.createReadStream(short().file), model: 'whisper-1' })
    assert.match(english.text, /young man/)
    const srt = String(await client.audio.translations.create({ file: fs.createReadStream(short().file), model: 'whisper-1', response_format: 'srt' }))
    assert.match(srt, /^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n/)
    const verbose = await client.audio.translations.create({ file: fs.createReadStream(short().file), model: 'pocketsphinx', response_format: 'verbose_json' }) as unknown as { task: string, language: string, segments: unknown[] }
    assert.deepEqual([verbose.task, verbose.language], ['translate', 'english'])
    assert.ok(verbose.segments.length >= 1)
    const french = fs.createReadStream(short().file)
    await assert.rejects(client.audio.translations.create({ file: french, model: 'whisper-1', language: 'fr' } as never), (error: unknown) => {
      assert.ok(error instanceof OpenAI.UnprocessableEntityError, String(error))
      assert.equal(error.param, 'language')
      assert.match(error.message, /No installed recogniser hears French \(fr\): pocketsphinx knows en/)
      return true
    })
    assert.equal((await t.testDb.db.kysely.selectFrom('files').select('id').execute()).length, filesBefore, 'the synchronous endpoint keeps no files')
  })
})

describe('tympan translate', { skip }, () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-cli-s2s-'))
  after(() => { fs.rmSync(cwd, { recursive: true, force: true }) })
  const env = { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`, LANG: 'C.UTF-8', TYMPAN_DATA_DIR: path.join(cwd, 'data') }
  const run = (args: string[]) => runTympan(['translate', ...args], { env, cwd, timeoutMs: 180_000 })
  const speech = () => utterances().find((u) => u.id.endsWith('0880'))!.file

  it('prints the translation, and writes every file whole into --out', async () => {
    const res = await run([speech(), '--to', 'es', '--out', 'es'])
    assert.equal(res.code, 0, res.stderr)
    const result = JSON.parse(res.stdout) as { target_lang: string, route: string[] }
    assert.deepEqual(result.route, ['en', 'es'])
    assert.deepEqual(fs.readdirSync(path.join(cwd, 'es')).sort(), ['source.json', 'source.srt', 'source.txt', 'source.vtt', 'translation.json', 'translation.srt', 'translation.txt', 'translation.vtt'])
    assert.match(fs.readFileSync(path.join(cwd, 'es', 'translation.txt'), 'utf8'), /joven|hombre/)
  })

  it('refuses before any engine runs what cannot work, saying why', async () => {
    const noRoute = await run([speech(), '--to', 'de'])
    assert.equal(noRoute.code, 1)
    assert.match(noRoute.stderr, /No installed translation route from English \(en\) into German \(de\): English \(en\) translates into/)
    const speakNoOut = await run([speech(), '--to', 'es', '--speak'])
    assert.equal(speakNoOut.code, 1)
    assert.match(speakNoOut.stderr, /--speak needs --out DIR/)
    const noTarget = await run([speech()])
    assert.equal(noTarget.code, 1)
    assert.match(noTarget.stderr, /--to is required/)
    const badQuality = await run([speech(), '--to', 'es', '--quality', 'best'])
    assert.equal(badQuality.code, 1)
    assert.match(badQuality.stderr, /--quality must be one of fast, accurate/)
    assert.ok(!fs.existsSync(path.join(cwd, 'data')), 'a local run creates no data directory')
  })
})
