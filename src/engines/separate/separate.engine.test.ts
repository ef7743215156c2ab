import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { drumPattern, melody } from '../../dsp/test-signals.ts'
import type { EngineContext } from '../engine.ts'
import { encodeArgs, decodeArgs } from './ffmpeg-args.ts'
import { separateEngine, type SeparateParams } from './separate.engine.ts'

const run = promisify(execFile)
const engine = separateEngine()
let dir: string

const ffmpeg = (...args: string[]) => run('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args])
async function separate (name: string, params: SeparateParams, over: Partial<EngineContext> = {}) {
  const workDir = await mkdtemp(join(dir, 'work-'))
  const stages: string[] = []
  const output = await engine.run({ path: join(dir, name), durationSec: 0 }, params, {
    progress: (fraction, stage) => { stages.push(`${fraction.toFixed(2)} ${stage}`) },
    signal: new AbortController().signal,
    workDir,
    parallelism: 2,
    ...over
  })
  return { ...output, stages, workDir }
}
/** Channels and samples of a file as ffmpeg decodes it (interleaved float32). */
async function decode (path: string): Promise<{ channels: number, samples: Float32Array }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=channels', '-of', 'csv=p=0', path])
  const pcm = await run('ffmpeg', ['-v', 'error', '-i', path, '-f', 'f32le', '-'], { encoding: 'buffer', maxBuffer: 1 << 26 })
  const bytes = pcm.stdout
  const samples = new Float32Array(bytes.length / 4)
  new Uint8Array(samples.buffer).set(bytes)
  return { channels: Number(stdout.trim()), samples }
}

const RATE = 22050

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tympan-separate-'))
  // Chords over a beat, 4 s: the drums centred, the chords a little to the left.
  const tune = melody([[48, 60, 64, 67], [53, 60, 65, 69], [55, 59, 62, 67], [48, 60, 64, 67]], 1, RATE)
  const drums = drumPattern(120, RATE, tune.length / RATE)
  const stereo = new Float32Array(2 * tune.length)
  for (let n = 0; n < tune.length; n++) {
    stereo[2 * n] = 0.6 * tune[n]! + 0.4 * drums[n]!
    stereo[2 * n + 1] = 0.3 * tune[n]! + 0.4 * drums[n]!
  }
  await writeFile(join(dir, 'music.f32'), new Uint8Array(stereo.buffer))
  await Promise.all([
    ffmpeg('-f', 'f32le', '-ar', String(RATE), '-ac', '2', '-i', join(dir, 'music.f32'), '-c:a', 'pcm_s16le', join(dir, 'music.wav')),
    ffmpeg('-f', 'lavfi', '-i', 'aevalsrc=0.3*sin(2*PI*220*t)+0.2*sin(2*PI*1760*t)*lt(mod(t\\,0.5)\\,0.05):s=16000:d=1', join(dir, 'mono-1s.wav')),
    ffmpeg('-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '2', join(dir, 'silence.wav')),
    ffmpeg('-f', 'lavfi', '-i', 'aevalsrc=0.2*sin(2*PI*200*t)|0.2*sin(2*PI*300*t)|0.3*sin(2*PI*440*t)|0.3*sin(2*PI*50*t)|0.1*sin(2*PI*600*t)|0.1*sin(2*PI*700*t):s=16000:d=2', '-channel_layout', '5.1', join(dir, 'surround.wav')),
    ffmpeg('-f', 'lavfi', '-i', `aevalsrc=${Array.from({ length: 9 }, (_, c) => `0.1*sin(2*PI*${100 * (c + 1)}*t)`).join('|')}:s=8000:d=1`, join(dir, 'nine.wav')),
    writeFile(join(dir, 'corrupt.mp3'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)))
  ])
})
after(() => rm(dir, { recursive: true, force: true }))

describe('separate engine', () => {
  it('writes four stems and a summary whose stems sum back to the input (to 16-bit rounding)', async () => {
    const { result, artifacts, stages } = await separate('music.wav', { stems: 4 })
    assert.deepEqual(artifacts.map((a) => a.name), ['vocals.wav', 'drums.wav', 'bass.wav', 'other.wav', 'summary.json'])
    assert.ok(artifacts.slice(0, 4).every((a) => a.contentType === 'audio/wav'))
    assert.equal(result.method, 'tympan-dsp')
    assert.equal(result.channels, 2)
    assert.equal(result.sampleRate, RATE)
    assert.ok(Math.abs(result.durationSec - 4) < 0.01, `duration ${result.durationSec}`)
    const shares = Object.values(result.energyShare)
    assert.ok(Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 0.01, `shares ${JSON.stringify(result.energyShare)}`)
    assert.ok(result.energyShare.drums! > 0.05, `drums share ${result.energyShare.drums}`)
    assert.deepEqual(JSON.parse(await readFile(artifacts.at(-1)!.path, 'utf8')), result)
    assert.ok(stages.some((s) => s.endsWith('separating')) && stages.at(-1) === '1.00 done', stages.join(', '))

    const mixture = await decode(join(dir, 'music.wav'))
    const stems = await Promise.all(artifacts.slice(0, 4).map((a) => decode(a.path)))
    assert.ok(stems.every((s) => s.channels === 2 && s.samples.length === mixture.samples.length))
    let worst = 0
    for (let n = 0; n < mixture.samples.length; n++) worst = Math.max(worst, Math.abs(stems.reduce((sum, s) => sum + s.samples[n]!, 0) - mixture.samples[n]!))
    assert.ok(worst < 4 / 32768, `worst difference ${worst}`)
  })

  it('separates a 1-second mono file into 2 stems as FLAC, without the stereo cue', async () => {
    const { result, artifacts } = await separate('mono-1s.wav', { stems: 2, format: 'flac' })
    assert.deepEqual(artifacts.map((a) => a.name), ['vocals.flac', 'accompaniment.flac', 'summary.json'])
    assert.equal(result.channels, 1)
    assert.equal(result.chunking.chunks, 1)
    const vocals = await decode(artifacts[0]!.path)
    assert.equal(vocals.channels, 1)
    assert.ok(Math.abs(vocals.samples.length - 16000) < 2)
  })

  it('turns silence into silent stems with zero shares, not NaN', async () => {
    const { result, artifacts } = await separate('silence.wav', {})
    assert.deepEqual(result.energyShare, { vocals: 0, drums: 0, bass: 0, other: 0 })
    const drums = await decode(artifacts[1]!.path)
    assert.ok(drums.samples.every((v) => v === 0))
  })

  it('keeps the six channels of a 5.1 file in WAV, and mixes them to stereo for MP3', async () => {
    const wav = await separate('surround.wav', { stems: 2 })
    assert.equal(wav.result.channels, 6)
    assert.equal((await decode(wav.artifacts[0]!.path)).channels, 6)
    const mp3 = await separate('surround.wav', { stems: 2, format: 'mp3' })
    assert.equal(mp3.artifacts[0]!.contentType, 'audio/mpeg')
    assert.equal((await decode(mp3.artifacts[0]!.path)).channels, 2)
  })

  it('refuses more than 8 channels, an undecodable file and a bad stem count, as invalid input', async () => {
    await assert.rejects(separate('nine.wav', {}), { kind: 'invalid-input', message: /9 channels.*at most 8/ })
    await assert.rejects(separate('corrupt.mp3', {}), { kind: 'invalid-input' })
    await assert.rejects(separate('music.wav', { stems: 3 as 4 }), { kind: 'invalid-input', message: /stems must be 2 or 4/ })
  })

  it('stops at once on cancel and leaves no scratch files', async () => {
    const controller = new AbortController()
    const workDir = await mkdtemp(join(dir, 'work-'))
    const running = engine.run({ path: join(dir, 'music.wav'), durationSec: 4 }, {}, {
      progress: (_fraction, stage) => { if (stage === 'separating') controller.abort() },
      signal: controller.signal,
      workDir,
      parallelism: 2
    })
    await assert.rejects(running, { kind: 'canceled' })
    assert.deepEqual((await readdir(workDir)).filter((f) => f.endsWith('.f32')), [])
  })
})

describe('separate ffmpeg arguments', () => {
  it('read only through the file protocol and write the codec of each format', () => {
    const decode = decodeArgs('-i', 44100)
    assert.deepEqual(decode.slice(decode.indexOf('-protocol_whitelist'), decode.indexOf('-protocol_whitelist') + 4), ['-protocol_whitelist', 'file', '-i', 'file:-i'])
    assert.equal(decode.at(-1), 'pipe:1')
    const encode = (format: 'wav' | 'flac' | 'mp3', channels = 2) => encodeArgs({ raw: '/w/x.f32', sampleRate: 44100, channels, format, output: '/w/x.out' })
    assert.ok(encode('wav').includes('pcm_s16le'))
    assert.ok(encode('flac').includes('flac'))
    assert.ok(encode('mp3').includes('libmp3lame') && !encode('mp3').includes('-ac 2'))
    assert.deepEqual(encode('mp3', 6).slice(encode('mp3', 6).indexOf('file:/w/x.f32') + 1, encode('mp3', 6).indexOf('file:/w/x.f32') + 3), ['-ac', '2'])
    assert.equal(encode('wav').at(-1), 'file:/w/x.out')
  })
})

