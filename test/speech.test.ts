import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import OpenAI from 'openai'
import { startApp, type TestApp } from './helpers/app.ts'
import { fixture } from './helpers/audio.ts'
import { createJob, keyHeaders, uploadFile, waitForJob } from './helpers/jobs.ts'

const JOB_SCOPES = ['files:read', 'files:write', 'jobs:read', 'jobs:write']
const installed = (binary: string) => {
  try { execFileSync('which', [binary], { stdio: 'ignore' }); return true } catch { return false }
}
const skip = ['espeak-ng', 'flite', 'text2wave', 'ffprobe'].every(installed) ? false : 'festival, flite, espeak-ng and ffmpeg are needed (scripts/setup installs them)'

interface Probed { codec: string, sampleRate: number, channels: number, durationSec: number }

/** What ffprobe makes of bytes; raw PCM has no header, so its layout is given, as a client would. */
function probe (bytes: Buffer, raw = false): Probed {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-speech-probe-'))
  try {
    const file = path.join(dir, 'audio')
    fs.writeFileSync(file, bytes)
    const out = execFileSync('ffprobe', ['-v', 'error', ...(raw ? ['-f', 's16le', '-ar', '24000', '-ac', '1'] : []),
      '-show_entries', 'stream=codec_name,sample_rate,channels:format=duration', '-of', 'json', file], { encoding: 'utf8' })
    const json = JSON.parse(out) as { streams: { codec_name: string, sample_rate: string, channels: number }[], format: { duration?: string } }
    const stream = json.streams[0]!
    return { codec: stream.codec_name, sampleRate: Number(stream.sample_rate), channels: stream.channels, durationSec: Number(json.format.duration ?? 0) }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe('speech synthesis through the API, on the real engines', { skip }, () => {
  let t: TestApp
  let key: string
  let base: string
  let client: OpenAI

  before(async () => {
    t = await startApp('pglite', { WORKER_CONCURRENCY: '2', JOBS_MAX_RUNNING_FREE: '2' })
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`
    key = await t.apiKey(await t.login((await t.createUser()).email), JOB_SCOPES)
    client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0, timeout: 60_000 })
  })
  after(() => t.close())

  const speech = (body: Record<string, unknown>) => fetch(`${base}/v1/audio/speech`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body)
  })

  it('answers every response_format with audio of that codec, 24 kHz mono', async () => {
    const expected = { mp3: 'mp3', opus: 'opus', aac: 'aac', flac: 'flac', wav: 'pcm_s16le', pcm: 'pcm_s16le' }
    const types = { mp3: 'audio/mpeg', opus: 'audio/opus', aac: 'audio/aac', flac: 'audio/flac', wav: 'audio/wav', pcm: 'audio/pcm' }
    // Alternating engines: festival (alloy) and flite (echo) both go through every encoder.
    let i = 0
    for (const [format, codec] of Object.entries(expected)) {
      const voice = i++ % 2 ? 'echo' : 'alloy'
      const res = await speech({ model: 'tts-1', input: 'The birch canoe slid on the smooth planks.', voice, response_format: format })
      assert.equal(res.status, 200, `${format}: ${await res.clone().text()}`)
      assert.equal(res.headers.get('content-type'), types[format as keyof typeof types])
      assert.equal(res.headers.get('tympan-voice'), voice === 'alloy' ? 'festival:slt-hts' : 'flite:rms')
      const bytes = Buffer.from(await res.arrayBuffer())
      assert.equal(Number(res.headers.get('content-length')), bytes.length)
      const probed = probe(bytes, format === 'pcm')
      assert.equal(probed.codec, codec, format)
      // Opus always decodes at 48 kHz, whatever rate went in.
      assert.equal(probed.sampleRate, format === 'opus' ? 48000 : 24000, format)
      assert.equal(probed.channels, 1, format)
      assert.ok(probed.durationSec > 1.5 && probed.durationSec < 6, `${format}: ${probed.durationSec} s`)
    }
  })

  it('serves the official openai client, with speed and instructions', async () => {
    const slow = Buffer.from(await (await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'nova', input: 'Glue the sheet to the dark blue background.', response_format: 'wav', instructions: 'Speak cheerfully.', speed: 0.5 })).arrayBuffer())
    const fast = Buffer.from(await (await client.audio.speech.create({ model: 'tts-1-hd', voice: 'nova', input: 'Glue the sheet to the dark blue background.', response_format: 'wav', speed: 2 })).arrayBuffer())
    const ratio = probe(slow).durationSec / probe(fast).durationSec
    assert.ok(ratio > 3 && ratio < 5, `speed 0.5 is about four times as long as speed 2: ${ratio}`)
    const mp3 = Buffer.from(await (await client.audio.speech.create({ model: 'tts-1', voice: 'espeak:es', input: 'Hola, ¿qué tal?' })).arrayBuffer())
    assert.equal(probe(mp3).codec, 'mp3')

    const models = (await client.models.list()).data.map((m) => m.id)
    for (const id of ['tts-1', 'tts-1-hd', 'gpt-4o-mini-tts']) assert.ok(models.includes(id), id)
  })

  it('refuses bad requests with 400 in OpenAI\'s shape, naming the field, and queues nothing', async () => {
    const jobsBefore = (await t.testDb.db.kysely.selectFrom('jobs').select('id').execute()).length
    const good = { model: 'tts-1', input: 'hello', voice: 'alloy' }
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...good, input: 'a'.repeat(4097) }, 'input', /4097 characters.*4096/],
      [{ ...good, input: '' }, 'input', /empty/],
      [{ ...good, input: '   \n ' }, 'input', /empty/],
      [{ ...good, input: '🙂🙂' }, 'input', /nothing festival:slt-hts can speak/],
      [{ ...good, speed: 10 }, 'speed', /0\.25 to 4/],
      [{ ...good, speed: '2' }, 'speed', /0\.25 to 4/],
      [{ ...good, voice: 'galadriel' }, 'voice', /Unknown voice "galadriel".*alloy.*festival:slt-hts.*espeak:es/],
      [{ ...good, voice: 'espeak:es+croak' }, 'voice', /Unknown voice/],
      [{ ...good, voice: 'flite:rms', language: 'de' }, 'language', /speaks en-us, not de/],
      [{ ...good, language: 'tlh-x-klingon' }, 'language', /No voice speaks/],
      [{ ...good, response_format: 'ogg' }, 'response_format', /mp3, opus, aac, flac, wav, pcm/],
      [{ ...good, model: 'tts-9' }, 'model', /tts-9/],
      [{ input: 'hello', voice: 'alloy' }, 'model', /required/],
      [{ ...good, stream_format: 'sse' }, 'stream_format', /audio/],
      [{ ...good, temperature: 1 }, 'temperature', /Unrecognized/]
    ]
    for (const [body, param, message] of cases) {
      const res = await speech(body)
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80))
      const { error } = await res.json() as { error: { message: string, type: string, param: string } }
      assert.equal(error.type, 'invalid_request_error')
      assert.equal(error.param, param, error.message)
      assert.match(error.message, message)
    }
    await assert.rejects(client.audio.speech.create({ model: 'tts-1', voice: 'nobody', input: 'hi' }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError)
      assert.equal(error.param, 'voice')
      return true
    })
    assert.equal((await t.testDb.db.kysely.selectFrom('jobs').select('id').execute()).length, jobsBefore)
  })

  it('runs a speak job from params alone, and refuses one with a file or a voice it lacks (422)', async () => {
    const created = await createJob(t.app, key, { type: 'speak', params: { text: 'Rice is often served in round bowls. The juice of lemons makes fine punch.', voice: 'fable', format: 'flac' } })
    assert.equal(created.fileId, null)
    const job = await waitForJob(t.app, key, created.id)
    assert.equal(job.status, 'succeeded', job.error ?? '')
    const result = job.result as { voice: string, durationSec: number, characters: number, format: string, language: string }
    assert.equal(result.voice, 'flite:awb')
    assert.equal(result.language, 'en-gb-scotland')
    assert.equal(result.characters, 74)
    assert.deepEqual(job.artifacts.map((a) => [a.name, a.contentType]), [['speech.flac', 'audio/flac']])
    const audio = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}/artifacts/speech.flac`, headers: keyHeaders(key) })
    const probed = probe(audio.rawPayload)
    assert.equal(probed.codec, 'flac')
    assert.ok(Math.abs(probed.durationSec - result.durationSec) < 0.1, `${probed.durationSec} vs ${result.durationSec}`)

    const fileId = await uploadFile(t.app, key, fixture('wav'))
    const refusals: [Record<string, unknown>, string][] = [
      [{ type: 'speak', fileId, params: { text: 'hi' } }, 'fileId'],
      [{ type: 'speak', params: { text: 'hi', voice: 'galadriel' } }, 'params.voice'],
      [{ type: 'speak', params: { text: 'hi', voice: 'Alloy; rm -rf' } }, 'params.voice'],
      [{ type: 'speak', params: { text: '' } }, 'params.text'],
      [{ type: 'speak', params: { text: 'x'.repeat(20_001) } }, 'params.text'],
      [{ type: 'speak', params: { text: 'hi', speed: 0.1 } }, 'params.speed'],
      [{ type: 'speak', params: { text: 'hi', format: 'wma' } }, 'params.format'],
      [{ type: 'speak', params: { text: '...!' } }, 'params.text'],
      [{ type: 'speak', params: { text: 'hi', language: 'xx' } }, 'params.language']
    ]
    for (const [payload, field] of refusals) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: keyHeaders(key), payload })
      assert.equal(res.statusCode, 422, `${JSON.stringify(payload).slice(0, 80)}: ${res.body}`)
      assert.equal(res.json().field, field, res.json().detail)
    }

    const engines = await t.app.inject({ method: 'GET', url: '/api/v1/engines', headers: keyHeaders(key) })
    const speak = (engines.json().engines as { name: string, voices: string[], languages: string[], voiceDetails: { id: string, openai?: string[] }[] }[]).find((e) => e.name === 'speak')!
    assert.ok(speak.voices.includes('festival:slt-hts') && speak.voices.includes('espeak:es'))
    assert.ok(speak.languages.includes('en') && speak.languages.includes('es'))
    assert.deepEqual(speak.voiceDetails.find((v) => v.id === 'flite:rms')?.openai, ['echo'])
  })

  it('speaks markup, Scheme and option-like text as words: nothing is interpreted', async () => {
    const marker = path.join(os.tmpdir(), `tympan-pwned-${process.pid}`)
    // Read as words, each lasts a few seconds; a pause of 10 s, or nothing at all, would be
    // markup obeyed. festival's SABLE mode would fail on this machine (its default voice is not
    // installed), so SABLE spoken at length is text read as text.
    const texts: [string, string, number, number][] = [
      ['alloy', '(quit)', 0.3, 4],
      ['alloy', `"); (system "touch ${marker}") (quit) ("`, 1, 15],
      ['alloy', `(system "touch ${marker}")`, 1, 15],
      ['echo', `-o ${marker} --help`, 1, 15],
      ['echo', '<speak><break time="10s"/>hello</speak>', 1, 8],
      ['espeak:en-us', '<speak><break time="10s"/>hello</speak>', 1, 8],
      ['espeak:en-us', `-w ${marker} [[h@l'oU]]`, 1, 15],
      ['alloy', '<SABLE><BREAK LEVEL="LARGE"/>hello</SABLE>', 4, 20]
    ]
    const jobs = await Promise.all(texts.map(([voice, text]) => createJob(t.app, key, { type: 'speak', params: { text, voice, format: 'wav' } })))
    for (const [i, created] of jobs.entries()) {
      const job = await waitForJob(t.app, key, created.id)
      assert.equal(job.status, 'succeeded', `${texts[i]![1]}: ${job.error}`)
      const { durationSec } = job.result as { durationSec: number }
      const [, text, min, max] = texts[i]!
      assert.ok(durationSec > min && durationSec < max, `${text}: ${durationSec} s`)
    }
    assert.equal(fs.existsSync(marker), false, 'no text became a command or an option')
  })
})
