import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { drumPattern, melody } from '../../dsp/test-signals.ts'
import type { EngineContext } from '../engine.ts'
import { analyzeEngine, type AnalyzeResult, type WaveformDocument } from './analyze.engine.ts'

const run = promisify(execFile)
const engine = analyzeEngine()
let dir: string

const ffmpeg = (...args: string[]) => run('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args])
const context = (over: Partial<EngineContext> = {}): EngineContext => ({
  progress: () => {},
  signal: new AbortController().signal,
  workDir: dir,
  parallelism: 1,
  ...over
})
async function analyse (name: string, over: Partial<EngineContext> = {}) {
  const workDir = await mkdtemp(join(dir, 'work-'))
  return engine.run({ path: join(dir, name), durationSec: 0 }, {}, context({ workDir, ...over }))
}

/** Whether the spectrogram's colour scale, right of the plot, was drawn (ffmpeg can lose it). */
async function colourScaleDrawn (png: string, width: number): Promise<boolean> {
  const x = (width - 1200) / 2 + 1200 + 20
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', png, '-vf', `crop=10:400:${x}:64,format=gray`, '-f', 'rawvideo', '-'], { encoding: 'buffer' })
  return Math.max(...stdout) > 200
}

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize (bytes: Buffer): [number, number] {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)]
}

// C major over a 120 BPM beat, synthesised here and encoded by ffmpeg to stereo FLAC, cut to
// 7.77 s so that the spectrogram's columns do not divide the length evenly.
const C_MAJOR = [[48, 60, 64, 67], [53, 60, 65, 69], [55, 59, 62, 67], [48, 60, 64, 67]]
const MUSIC_RATE = 22050

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tympan-analyze-'))
  const tune = melody([...C_MAJOR, ...C_MAJOR], 1, MUSIC_RATE)
  const drums = drumPattern(120, MUSIC_RATE, tune.length / MUSIC_RATE)
  const mix = tune.map((v, i) => v + 0.4 * drums[i]!)
  await writeFile(join(dir, 'music.f32'), new Uint8Array(mix.buffer))
  await Promise.all([
    ffmpeg('-f', 'f32le', '-ar', String(MUSIC_RATE), '-ac', '1', '-i', join(dir, 'music.f32'), '-ar', '44100', '-ac', '2', '-t', '7.77', join(dir, 'music.flac')),
    // A 1 kHz sine peaking at -20 dBFS in both channels: -20 LUFS by the BS.1770 calibration.
    ffmpeg('-f', 'lavfi', '-i', 'aevalsrc=0.1*sin(2*PI*1000*t)|0.1*sin(2*PI*1000*t):s=48000:d=5', join(dir, 'sine.wav')),
    // Left: 2 s of tone then 2 s of silence; right: silent throughout.
    ffmpeg('-f', 'lavfi', '-i', 'aevalsrc=if(lt(t\\,2)\\,0.5*sin(2*PI*440*t)\\,0)|0:s=44100:d=4', join(dir, 'left-only.wav')),
    ffmpeg('-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '3', join(dir, 'silence.wav')),
    writeFile(join(dir, 'corrupt.mp3'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)))
  ])
})

after(async () => { await rm(dir, { recursive: true, force: true }) })

// Each case runs ffmpeg three or four times and waits on it: they overlap well.
describe('analyzeEngine', { concurrency: true }, () => {
  it('reports itself available with the ffmpeg version', async () => {
    const status = await engine.status()
    assert.equal(status.available, true)
    assert.equal(status.package, 'ffmpeg')
    assert.match(status.version ?? '', /\d/)
  })

  it('analyses music: facts, tempo, key, levels, artifacts', async () => {
    const stages: string[] = []
    const { result, artifacts } = await analyse('music.flac', { progress: (_fraction, stage) => { if (stages.at(-1) !== stage) stages.push(stage) } })
    assert.deepEqual(stages, ['probing', 'measuring loudness', 'decoding', 'analysing', 'rendering images'])
    assert.equal(result.format, 'flac')
    assert.equal(result.codec, 'flac')
    assert.equal(result.sampleRate, 44100)
    assert.equal(result.channels, 2)
    assert.equal(result.durationSec, 7.77)
    assert.ok(result.tempo && Math.abs(result.tempo.bpm - 120) <= 2, `tempo ${JSON.stringify(result.tempo)}`)
    assert.equal(result.key?.label, 'C major')
    assert.equal(result.levels.length, 2)
    assert.ok(result.loudness.integratedLufs! < -5 && result.loudness.integratedLufs! > -40)
    assert.equal(result.silenceRatio, 0)

    assert.deepEqual(artifacts.map((a) => [a.name, a.contentType]), [
      ['waveform.json', 'application/json'], ['waveform.png', 'image/png'], ['spectrogram.png', 'image/png']
    ])
    const [json, waveform, spectrogram] = await Promise.all(artifacts.map((a) => readFile(a.path)))
    assert.deepEqual(pngSize(waveform!), [1200, 240])
    // A 1200×512 plot plus the legend's margins (the rate, 44100, sets the side margins).
    assert.deepEqual(pngSize(spectrogram!), [1482, 640])
    assert.ok(await colourScaleDrawn(artifacts[2]!.path, 1482), 'the colour scale is drawn')
    const doc = JSON.parse(json!.toString()) as WaveformDocument
    assert.equal(doc.channels, 2)
    assert.equal(doc.buckets, 1000)
    assert.equal(doc.sampleRate, 44100)
    assert.equal(doc.peaks[1]?.max.length, 1000)
    assert.ok(doc.peaks.every((p) => p.min.every((v, i) => v >= -1 && v <= p.max[i]! && p.max[i]! <= 1)))
  })

  it('measures a -20 dBFS 1 kHz stereo sine at -20 LUFS', async () => {
    const { result } = await analyse('sine.wav')
    const { loudness, levels } = result
    assert.ok(Math.abs(loudness.integratedLufs! + 20) <= 1, `integrated ${loudness.integratedLufs}`)
    assert.ok(Math.abs(loudness.truePeakDbtp! + 20) <= 0.5, `true peak ${loudness.truePeakDbtp}`)
    assert.equal(loudness.rangeLu, 0)
    assert.deepEqual(levels.map((l) => [l.peakDb, l.rmsDb]), [[-20, -23], [-20, -23]])
    assert.equal(result.tempo, null)
  })

  it('finds the silent channel and the silent half', async () => {
    const { result } = await analyse('left-only.wav')
    assert.equal(result.levels[1]?.rmsDb, null)
    assert.equal(result.levels[1]?.peakDb, null)
    assert.ok(Math.abs(result.levels[0]!.peakDb! + 6) < 0.1)
    assert.ok(Math.abs(result.silenceRatio - 0.5) <= 0.02, `silence ${result.silenceRatio}`)
  })

  it('reports pure silence with nulls, never NaN or -Infinity', async () => {
    const { result, artifacts } = await analyse('silence.wav')
    assert.deepEqual(result.loudness, { integratedLufs: null, rangeLu: null, truePeakDbtp: null })
    assert.deepEqual(result.levels, [{ channel: 0, rmsDb: null, peakDb: null }, { channel: 1, rmsDb: null, peakDb: null }])
    assert.equal(result.silenceRatio, 1)
    assert.equal(result.tempo, null)
    assert.equal(result.key, null)
    assert.equal(artifacts.length, 3)
    assert.deepEqual(JSON.parse(JSON.stringify(result)) as AnalyzeResult, result)
  })

  it('refuses a file ffmpeg cannot decode as invalid input', async () => {
    await assert.rejects(analyse('corrupt.mp3'), (error: Error & { kind?: string }) => {
      assert.equal(error.kind, 'invalid-input')
      assert.doesNotMatch(error.message, /\//, 'no paths in the message')
      return true
    })
  })

  it('stops with kind canceled, whether canceled before or while the DSP thread works', async () => {
    const aborted = new AbortController()
    aborted.abort()
    await assert.rejects(analyse('music.flac', { signal: aborted.signal }), { kind: 'canceled' })
    // Abort a moment after the last stretch went to the thread, while it estimates tempo and key.
    const midway = new AbortController()
    let abortedAt = 0
    const progress = (_fraction: number, stage: string) => {
      if (stage === 'analysing') setTimeout(() => { abortedAt = Date.now(); midway.abort() }, 5)
    }
    await assert.rejects(analyse('music.flac', { signal: midway.signal, progress }), { kind: 'canceled' })
    // The thread is stopped, not waited for: measured from the abort, not from the start, so
    // a busy machine's slow decode before it does not count.
    assert.ok(abortedAt > 0 && Date.now() - abortedAt < 3000)
  })

  it('names the package to install when ffmpeg is missing', async () => {
    const missing = analyzeEngine({ ffmpeg: 'tympan-no-such-ffmpeg', ffprobe: 'tympan-no-such-ffprobe' })
    const status = await missing.status()
    assert.equal(status.available, false)
    assert.match(status.detail ?? '', /Debian package ffmpeg/)
    await assert.rejects(missing.run({ path: join(dir, 'sine.wav'), durationSec: 5 }, {}, context()), { kind: 'missing-engine' })
  })

  it('refuses a silence threshold out of range', async () => {
    await assert.rejects(engine.run({ path: join(dir, 'sine.wav'), durationSec: 5 }, { silenceThresholdDb: 20 }, context()), { kind: 'invalid-input' })
  })
})
