import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeArgs, fadeSamples, fluidsynthArgs, gainFor, measureArgs } from './render-args.ts'

describe('render commands', () => {
  it('runs FluidSynth without MIDI input or shell, into a float WAV, the SoundFont before the MIDI file', () => {
    const args = fluidsynthArgs({ soundfont: '/sf/FluidR3_GM.sf2', midi: '/w/music.mid', wav: '/w/render.wav' })
    assert.deepEqual(args.slice(0, 3), ['-n', '-i', '-q'])
    assert.deepEqual(args.slice(-4), ['-F', '/w/render.wav', '/sf/FluidR3_GM.sf2', '/w/music.mid'])
    assert.ok(args.includes('float') && args.includes('44100'))
  })

  it('measures and encodes only through the file protocol, cut to the exact sample count', () => {
    const measure = measureArgs('/w/render.wav', 441_000)
    assert.deepEqual(measure.slice(measure.indexOf('-protocol_whitelist'), measure.indexOf('-protocol_whitelist') + 4), ['-protocol_whitelist', 'file', '-i', 'file:/w/render.wav'])
    assert.match(measure.join(' '), /atrim=end_sample=441000,ebur128=peak=sample/)
    const encode = encodeArgs({ wav: '/w/render.wav', output: '/w/music.mp3', durationSec: 12.5, gainDb: 7.257, format: 'mp3' })
    const filters = encode[encode.indexOf('-af') + 1]!
    assert.equal(filters, 'volume=7.26dB,alimiter=limit=0.8913:level=0:latency=1,atrim=end_sample=551250,apad=whole_len=551250,afade=t=out:start_sample=496125:nb_samples=55125')
    assert.deepEqual(encode.slice(-2), ['-y', 'file:/w/music.mp3'])
    assert.ok(encode.includes('libmp3lame'))
    assert.ok(encodeArgs({ wav: 'a', output: 'b', durationSec: 1, gainDb: 0, format: 'wav' }).includes('pcm_s16le'))
  })

  it('fades the last tenth, at most two seconds', () => {
    assert.equal(fadeSamples(1), 4410)
    assert.equal(fadeSamples(300), 88200)
  })

  it('brings the level to -16 LUFS unless the limiter would have to take more than 6 dB', () => {
    assert.equal(gainFor({ integratedLufs: -30, rangeLu: 5, truePeakDbtp: -20 }), 14)
    // -39 LUFS with a -10 dBFS peak: 23 dB would need 12 dB of limiting; 15 dB needs 6.
    assert.equal(gainFor({ integratedLufs: -39, rangeLu: 5, truePeakDbtp: -10 }), 15)
    assert.equal(gainFor({ integratedLufs: -10, rangeLu: 5, truePeakDbtp: -0.5 }), -6)
    assert.equal(gainFor({ integratedLufs: null, rangeLu: null, truePeakDbtp: null }), 0)
    assert.equal(gainFor(undefined), 0)
  })
})
