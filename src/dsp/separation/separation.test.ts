import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { applyFades, chunkGeometry, chunkPlan } from './chunks.ts'
import { harmonicShare } from './hpss.ts'
import { hpssBaseline, repetSimBaseline, reusableWorkspace, separate, separateChunk, STEM_NAMES, type Stems } from './index.ts'
import { medianInPlace, slidingMedian } from './median.ts'
import { backgroundShare } from './repet.ts'
import { stft, stftPlan } from './spectrogram.ts'
import { centreTracker } from './stereo.ts'

const SR = 16_000
let seed = 42
const random = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 30 - 1 }
const tone = (length: number, hz: number, gain: number, from = 0, to = length) => Float32Array.from({ length }, (_, n) => (n >= from && n < to ? gain * Math.sin((2 * Math.PI * hz * n) / SR) : 0))
const add = (...signals: Float32Array[]) => signals.reduce((sum, s) => sum.map((v, n) => v + s[n]!))
const energy = (s: Float32Array) => s.reduce((e, v) => e + v * v, 0)
const bin = (hz: number, size: number) => Math.round((hz * size) / SR)

function magnitudeOf (signal: Float32Array, size: number) {
  const plan = stftPlan(size, size / 4)
  const spec = stft(plan, signal)
  const magnitude = spec.re.map((re, i) => Math.hypot(re, spec.im[i]!))
  return { plan, spec, magnitude, geometry: { sampleRate: SR, frameSize: size, hop: size / 4 } }
}

function assertSumsToMixture (stems: Stems, mixture: Float32Array[], names: string[]) {
  assert.deepEqual(Object.keys(stems).sort(), [...names].sort())
  const peak = Math.max(...mixture.map((c) => c.reduce((m, v) => Math.max(m, Math.abs(v)), 0)))
  mixture.forEach((channel, c) => {
    for (let n = 0; n < channel.length; n++) {
      let sum = 0
      for (const name of names) {
        const v = stems[name as keyof Stems]![c]![n]!
        assert.ok(Number.isFinite(v), `${name}[${c}][${n}] is ${v}`)
        sum += v
      }
      assert.ok(Math.abs(sum - channel[n]!) <= 1e-6 * Math.max(1, peak), `channel ${c} sample ${n}: stems sum to ${sum}, mixture ${channel[n]}`)
    }
  })
}

describe('medians', () => {
  it('agree with sorting, odd and even counts, and slide like a window of truncated edges', () => {
    for (const count of [1, 2, 5, 12, 17, 40]) {
      const values = Float32Array.from({ length: count }, () => Math.round(random() * 20))
      const sorted = [...values].sort((a, b) => a - b)
      const want = count % 2 ? sorted[count >> 1]! : (sorted[count / 2 - 1]! + sorted[count / 2]!) / 2
      assert.equal(medianInPlace(values, count), want, `count ${count}`)
    }
    const values = Float32Array.from({ length: 200 }, () => Math.round(random() * 9))
    const out = new Float32Array(200)
    slidingMedian(values, 9, out)
    for (let t = 0; t < 200; t++) {
      const window = values.slice(Math.max(0, t - 4), Math.min(200, t + 5))
      assert.equal(out[t], medianInPlace(window, window.length), `position ${t}`)
    }
  })
})

describe('harmonicShare (HPSS)', () => {
  it('calls a sustained chord harmonic and clicks percussive', () => {
    const length = 3 * SR
    const chord = add(tone(length, 220, 0.3), tone(length, 277, 0.3), tone(length, 330, 0.3))
    const clicks = new Float32Array(length)
    for (let at = SR / 8; at < length; at += SR / 4) for (let n = 0; n < 16; n++) clicks[at + n] = (n % 2 ? -0.8 : 0.8) * (1 - n / 16)
    const size = 1024
    const { magnitude, spec, geometry } = magnitudeOf(add(chord, clicks), size)
    const share = harmonicShare(magnitude, spec.frames, spec.bins, geometry)
    const hop = size / 4
    let onChord = 0
    let onClicks = 0
    let n = 0
    let m = 0
    for (let t = 4; t < spec.frames - 4; t++) {
      onChord += share[t * spec.bins + bin(277, size)]!
      n++
      // Frames centred on a click, in a band the chord does not reach.
      const centre = (t + 3) * hop - size / 2
      if (Math.abs(((centre - SR / 8) % (SR / 4) + SR / 4) % (SR / 4)) < hop / 2) {
        for (let k = bin(2000, size); k < bin(6000, size); k++) onClicks += share[t * spec.bins + k]!
        m += bin(6000, size) - bin(2000, size)
      }
    }
    assert.ok(m > 0)
    assert.ok(onChord / n > 0.95, `chord harmonic share ${onChord / n}`)
    assert.ok(onClicks / m < 0.1, `click harmonic share ${onClicks / m}`)
  })
})

describe('centreWeights (stereo cue)', () => {
  it('is near 1 where a centred voice dominates and near 0 on a pad panned wide', () => {
    const length = 2 * SR
    const vibrato = Float32Array.from({ length }, (_, n) => 0.4 * Math.sin(2 * Math.PI * (440 * n / SR + 2 * Math.sin(2 * Math.PI * 5 * n / SR))))
    const padLeft = tone(length, 1200, 0.4)
    const padRight = tone(length, 1500, 0.4)
    const size = 1024
    const left = stft(stftPlan(size, size / 4), add(vibrato, padLeft))
    const right = stft(stftPlan(size, size / 4), add(vibrato, padRight))
    const tracker = centreTracker(left.frames, left.bins)
    for (let t = 0; t < left.frames; t++) {
      const row = (a: Float32Array) => a.subarray(t * left.bins, (t + 1) * left.bins)
      tracker.push(row(left.re), row(left.im), row(right.re), row(right.im))
    }
    const t = Math.floor(left.frames / 2)
    const weights = tracker.finish().subarray(t * left.bins, (t + 1) * left.bins)
    assert.ok(weights[bin(440, size)]! > 0.9, `voice ${weights[bin(440, size)]}`)
    assert.ok(weights[bin(1200, size)]! < 0.05, `pad left ${weights[bin(1200, size)]}`)
    assert.ok(weights[bin(1500, size)]! < 0.05, `pad right ${weights[bin(1500, size)]}`)
  })
})

describe('backgroundShare (REPET-SIM)', () => {
  it('calls a repeating loop background and a one-off melody foreground', () => {
    const length = 8 * SR
    // A one-second loop of four notes, eight times; a melody of eight notes that never repeats.
    const loop = new Float32Array(length)
    const notes = [262, 330, 392, 330]
    for (let n = 0; n < length; n++) loop[n] = 0.3 * Math.sin(2 * Math.PI * notes[Math.floor((n % SR) / (SR / 4))]! * n / SR)
    const melodyNotes = [600, 700, 820, 940, 1050, 1180, 1320, 1480]
    const melody = Float32Array.from({ length }, (_, n) => 0.3 * Math.sin(2 * Math.PI * melodyNotes[Math.floor(n / SR)]! * n / SR))
    const size = 1024
    const { magnitude, spec, geometry } = magnitudeOf(add(loop, melody), size)
    const share = backgroundShare(magnitude, spec.frames, spec.bins, geometry)
    let onLoop = 0
    let onMelody = 0
    let count = 0
    for (let t = 8; t < spec.frames - 8; t++) {
      const second = Math.floor(((t + 3) * (size / 4) - size / 2) / SR)
      const quarter = Math.floor(((((t + 3) * (size / 4) - size / 2) % SR) + SR) % SR / (SR / 4))
      const tMid = ((t + 3) * (size / 4) - size / 2) % (SR / 4)
      if (second < 0 || second > 7 || tMid < size || tMid > SR / 4 - size) continue
      onLoop += share[t * spec.bins + bin(notes[quarter]!, size)]!
      onMelody += share[t * spec.bins + bin(melodyNotes[second]!, size)]!
      count++
    }
    assert.ok(count > 20)
    assert.ok(onLoop / count > 0.8, `loop background share ${onLoop / count}`)
    assert.ok(onMelody / count < 0.3, `melody background share ${onMelody / count}`)
  })
})

describe('chunks', () => {
  it('cover the signal, overlap by the cross-fade, and their fades sum to one', () => {
    const g = chunkGeometry(SR)
    for (const length of [1, SR, 22 * SR, 22 * SR + 1, 60 * SR + 123]) {
      const spans = chunkPlan(length, g)
      assert.equal(spans[0]!.start, 0)
      assert.equal(spans.at(-1)!.end, length)
      const covered = new Float32Array(length)
      for (const span of spans) {
        const ones = new Float32Array(span.end - span.start).fill(1)
        applyFades(ones, span, g.overlap)
        ones.forEach((v, n) => { covered[span.start + n] = covered[span.start + n]! + v })
      }
      assert.ok(covered.every((v) => Math.abs(v - 1) < 1e-6), `length ${length}: fades sum to one`)
      for (let i = 1; i < spans.length; i++) assert.equal(spans[i - 1]!.end - spans[i]!.start, g.overlap)
    }
  })
})

describe('separate', () => {
  it('gives 4 stems that sum back to a stereo mixture, across several chunks', () => {
    const sr = 4000
    const length = 30 * sr
    const mix = [0, 1].map((c) => Float32Array.from({ length }, (_, n) => 0.3 * Math.sin(2 * Math.PI * (110 + 30 * c) * n / sr) + 0.05 * random()))
    const stems = separate(mix, sr, { stems: 4 })
    assertSumsToMixture(stems, mix, STEM_NAMES[4])
    for (const name of STEM_NAMES[4]) assert.equal(stems[name]!.length, 2)
  })

  it('works on mono without the stereo cue, 2 stems: accompaniment is the mixture minus vocals', () => {
    const mono = [add(tone(2 * SR, 300, 0.3), Float32Array.from({ length: 2 * SR }, () => 0.05 * random()))]
    const stems = separate(mono, SR, { stems: 2 })
    assertSumsToMixture(stems, mono, ['vocals', 'accompaniment'])
    assert.ok(energy(stems.vocals![0]!) > 0)
  })

  it('separates a 1-second signal, shorter than a chunk', () => {
    const short = [tone(SR, 440, 0.5), tone(SR, 440, 0.5)]
    for (const fn of [separate, hpssBaseline, repetSimBaseline]) assertSumsToMixture(fn(short, SR, { stems: 4 }), short, STEM_NAMES[4])
  })

  it('turns silence into silent stems, without NaN', () => {
    const silence = [new Float32Array(SR), new Float32Array(SR)]
    const stems = separate(silence, SR, { stems: 4 })
    for (const name of STEM_NAMES[4]) for (const c of stems[name]!) assert.ok(c.every((v) => v === 0), name)
  })

  it('separates 5.1: masks from the stereo downmix, applied to each of the six channels', () => {
    const length = 2 * SR
    const six = [0, 1, 2, 3, 4, 5].map((c) => tone(length, 200 + 100 * c, 0.2))
    const stems = separate(six, SR, { stems: 4 })
    assertSumsToMixture(stems, six, STEM_NAMES[4])
    assert.equal(stems.vocals!.length, 6)
    assert.throws(() => separate(Array.from({ length: 9 }, () => new Float32Array(100)), SR, { stems: 4 }), RangeError)
  })

  it('puts a centred voice in vocals and a pad panned wide in the accompaniment', () => {
    seed = 42
    const length = 6 * SR
    // A "voice": syllables of a fifth of a second, each at a pitch of its own (a random walk,
    // so nothing repeats), with vibrato and two partials, centred.
    let phase = 0
    let pitch = 300
    const voice = Float32Array.from({ length }, (_, n) => {
      if (n % (SR / 5) === 0) pitch = Math.min(600, Math.max(200, pitch * 2 ** (random() / 3)))
      phase += (2 * Math.PI * (pitch + 5 * Math.sin(2 * Math.PI * 5.5 * n / SR))) / SR
      const syllable = Math.sin((Math.PI * (n % (SR / 5))) / (SR / 5))
      return syllable * (0.3 * Math.sin(phase) + 0.1 * Math.sin(2 * phase))
    })
    // A pad that never repeats either (a new note every half second), so that only the stereo
    // cue can tell it from the voice: one voice of it hard left, another hard right.
    const pad = () => {
      const notes = Array.from({ length: 12 }, () => 400 * 2 ** (1.5 * (random() + 1)))
      return Float32Array.from({ length }, (_, n) => 0.2 * Math.sin(2 * Math.PI * notes[Math.floor(n / (SR / 2))]! * n / SR))
    }
    const left = pad()
    const right = pad()
    const mix = [add(voice, left), add(voice, right)]
    const residual = (estimate: Float32Array, reference: Float32Array) => energy(reference) / energy(estimate.map((v, n) => v - reference[n]!))
    const sdr = (stems: Stems) => 10 * Math.log10((residual(stems.vocals![0]!, voice) + residual(stems.vocals![1]!, voice)) / 2)
    const withCue = sdr(separate(mix, SR, { stems: 2 }))
    const withoutCue = sdr(repetSimBaseline(mix, SR, { stems: 2 }))
    assert.ok(withCue > withoutCue + 3, `vocals SDR ${withCue.toFixed(1)} dB with the centre cue, ${withoutCue.toFixed(1)} dB without`)
  })

  it('refuses a stem count other than 2 or 4', () => {
    assert.throws(() => separate([new Float32Array(100)], SR, { stems: 3 as 4 }), RangeError)
  })
})

describe('separateChunk with reused buffers (a thread that separates chunk after chunk)', () => {
  it('gives the same stems as fresh arrays, writes into the given ones, and keeps the sum exact', () => {
    const length = 1.5 * SR
    const chunk = () => [0, 1].map((c) => add(tone(length, 220 + 110 * c, 0.3), tone(length, 880, 0.2, SR / 2, SR), Float32Array.from({ length }, () => 0.02 * Math.sin(c + 1))))
    const workspace = reusableWorkspace()
    for (const method of ['tympan', 'hpss', 'repet-sim'] as const) {
      const want = separateChunk(chunk(), SR, { stems: 4, method })
      // Dirty buffers and a dirty workspace: nothing of a previous chunk may leak into this one.
      const spare = Array.from({ length: 6 }, () => new Float32Array(length).fill(7))
      separateChunk([0, 1].map(() => Float32Array.from({ length }, () => random())), SR, { stems: 4, method }, { workspace, stems: [], lastStemInInput: false })
      const input = chunk()
      const mixture = input.map((c) => c.slice())
      const got = separateChunk(input, SR, { stems: 4, method }, { workspace, stems: spare, lastStemInInput: true })
      assert.equal(got.vocals[0], spare[0])
      assert.equal(got.other[1], input[1])
      for (const name of STEM_NAMES[4]) {
        got[name].forEach((part, c) => { assert.deepEqual(part, want[name][c], `${method} ${name}[${c}]`) })
      }
      assertSumsToMixture(got, mixture, STEM_NAMES[4])
    }
  })

  it('allocates its own stem arrays when the given ones do not fit the chunk', () => {
    const input = [tone(SR, 440, 0.3)]
    const wrong = [new Float32Array(10)]
    const got = separateChunk(input, SR, { stems: 2, method: 'tympan' }, { workspace: reusableWorkspace(), stems: wrong, lastStemInInput: false })
    assert.notEqual(got.vocals[0], wrong[0])
    assert.equal(got.vocals[0]!.length, SR)
    assertSumsToMixture(got, [tone(SR, 440, 0.3)], ['vocals', 'accompaniment'])
  })
})
