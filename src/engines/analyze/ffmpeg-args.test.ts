import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loudnessArgs, picturesArgs, probeArgs, progressSeconds, segmentArgs, segmentSeconds, spectrogramPlan, waveformRate } from './ffmpeg-args.ts'

describe('ffmpeg command lines', () => {
  it('read only through the file protocol, whatever the path looks like', () => {
    for (const args of [probeArgs('http://evil/x.mp3'), loudnessArgs('concat:a|b'), segmentArgs({ path: '-i', startSec: 0, seconds: 10, pcm: '/w/p.f32' })]) {
      assert.ok(args.includes('file:http://evil/x.mp3') || args.includes('file:concat:a|b') || args.includes('file:-i'))
      assert.equal(args[args.indexOf('-protocol_whitelist') + 1], 'file')
    }
  })

  it('decode a stretch to raw float32, and to mono at the tonal rate only when asked', () => {
    const both = segmentArgs({ path: '/in.mp3', startSec: 95, seconds: 95, pcm: '/w/p.f32', mono: { path: '/w/m.f32', rate: 22050 } })
    assert.deepEqual(both.slice(both.indexOf('-ss'), both.indexOf('-ss') + 4), ['-ss', '95', '-t', '95'])
    assert.equal(both.filter((a) => a === 'f32le').length, 2)
    assert.deepEqual(both.slice(-10), ['-ac', '1', '-ar', '22050', '-c:a', 'pcm_f32le', '-f', 'f32le', '-y', 'file:/w/m.f32'])
    assert.equal(segmentArgs({ path: '/in.mp3', startSec: 0, seconds: 95, pcm: '/w/p.f32' }).includes('-ac'), false)
  })

  it('size stretches to about 32 MiB of float32', () => {
    assert.equal(segmentSeconds(44100, 2), 95)
    assert.equal(segmentSeconds(8000, 1), 300)
    assert.equal(segmentSeconds(384000, 32), 1)
  })

  it('read ffmpeg -progress lines', () => {
    assert.equal(progressSeconds('out_time_us=2500000'), 2.5)
    assert.equal(progressSeconds('out_time=00:00:02.500000'), undefined)
    assert.equal(progressSeconds('progress=end'), undefined)
  })
})

describe('spectrogramPlan', () => {
  it('draws a short file with showspectrum, its hop filling the width', () => {
    const plan = spectrogramPlan(143173, 22050)
    assert.match(plan.filter, /showspectrum=s=1200x512:slide=fullframe:overlap=0\.8833008:/)
    assert.deepEqual([plan.width, plan.height], [1466, 640])
  })

  it('leaves a clip shorter than the width to showspectrumpic, unresampled', () => {
    assert.match(spectrogramPlan(800, 44100).filter, /^aformat=channel_layouts=mono,showspectrumpic=/)
  })

  it('resamples a longer file to whole windows per column for showspectrumpic', () => {
    const plan = spectrogramPlan(64 * 44100, 44100)
    assert.match(plan.filter, /^aresample=38016,.*showspectrumpic=s=1200x512/)
    assert.deepEqual([plan.width, plan.height], [1478, 640])
  })

  it('keeps a four-hour file within the memory budget', () => {
    const rate = Number(/aresample=(\d+)/.exec(spectrogramPlan(4 * 3600 * 48000, 48000).filter)?.[1])
    assert.ok(rate * 4 * 3600 <= 2 ** 25, `rate ${rate}`)
  })
})

describe('pictures', () => {
  it('draw the waveform at full rate when it fits, resampled when not', () => {
    assert.equal(waveformRate(44100 * 300, 44100, 2), 44100)
    assert.equal(waveformRate(48000 * 3600 * 4, 48000, 2), 1165)
    assert.equal(waveformRate(48000 * 3600 * 40, 48000, 2), 1000)
  })

  it('write both PNGs from one decode, a colour per channel', () => {
    const args = picturesArgs({ path: '/in.flac', frames: 44100 * 8, sampleRate: 44100, channels: 2, waveform: '/w/waveform.png', spectrogram: '/w/spectrogram.png' })
    const graph = args[args.indexOf('-filter_complex') + 1]!
    assert.match(graph, /showwavespic=s=1200x240:split_channels=1:filter=peak:scale=sqrt:colors=0x60a5fa\|0xf59e0b\[wave\]/)
    assert.doesNotMatch(graph, /aresample=.*showwavespic/)
    assert.deepEqual(args.filter((a) => a.startsWith('file:/w/')), ['file:/w/waveform.png', 'file:/w/spectrogram.png'])
  })
})
