// The songs of the separation test set, as data: tempo, key, a chord progression, and per stem
// what to play (MIDI for drums, bass and the chords; lyric phrases with a sung pitch per word
// for the voice). Pure and seeded, so a seed always gives the same song; rendering is
// testset.ts's job. The bench writes its own small composer on purpose: the test set must not
// move when the music generator (src/engines/generate) is tuned.
import { writeMidi, type MidiData, type MidiEvent } from 'midi-file'
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'

export const REFERENCE_STEMS = ['vocals', 'drums', 'bass', 'other'] as const
export type ReferenceStem = typeof REFERENCE_STEMS[number]

const TICKS_PER_BEAT = 480
const DRUM_CHANNEL = 9
const MAJOR = [0, 2, 4, 5, 7, 9, 11]
const MINOR = [0, 2, 3, 5, 7, 8, 10]
const NOTE_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B']

// Scale degrees (0 = tonic) of four-bar progressions.
const PROGRESSIONS = {
  major: [[0, 4, 5, 3], [0, 5, 3, 4], [5, 3, 0, 4], [0, 3, 0, 4], [1, 4, 0, 5]],
  minor: [[0, 5, 2, 6], [0, 3, 4, 0], [0, 6, 5, 6], [0, 3, 6, 4]]
}

// General MIDI programs, 0-based. Bass: GM 33–39 (acoustic to synth bass 1).
const BASS_PROGRAMS = [32, 33, 34, 35, 36, 37, 38]
const COMP_PROGRAMS = [0, 1, 4, 5, 16, 24, 25, 27]
const PAD_PROGRAMS = [48, 49, 50, 52, 88, 89, 91, 94]

// Drum grids: steps per bar, then per GM drum note the steps it plays on.
interface DrumStyle { steps: number, hits: Record<number, number[]> }
const KICK = 36
const SNARE = 38
const CLAP = 39
const CLOSED_HAT = 42
const OPEN_HAT = 46
const CRASH = 49
const RIDE = 51
const TOMS = [50, 48, 47, 45]
const DRUM_STYLES: Record<string, DrumStyle> = {
  rock: { steps: 16, hits: { [KICK]: [0, 8, 10], [SNARE]: [4, 12], [CLOSED_HAT]: [0, 2, 4, 6, 8, 10, 12, 14] } },
  disco: { steps: 16, hits: { [KICK]: [0, 4, 8, 12], [CLAP]: [4, 12], [CLOSED_HAT]: [0, 4, 8, 12], [OPEN_HAT]: [2, 6, 10, 14] } },
  halftime: { steps: 16, hits: { [KICK]: [0, 3, 10], [SNARE]: [8], [RIDE]: [0, 2, 4, 6, 8, 10, 12, 14] } },
  funk: { steps: 16, hits: { [KICK]: [0, 3, 6, 10], [SNARE]: [4, 12], [CLOSED_HAT]: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] } },
  shuffle: { steps: 12, hits: { [KICK]: [0, 6, 8], [SNARE]: [3, 9], [CLOSED_HAT]: [0, 2, 3, 5, 6, 8, 9, 11] } }
}
export const STYLES = Object.keys(DRUM_STYLES)

// Bass rhythms over eight eighth-note steps: [step, length in steps, interval above the root].
const BASS_PATTERNS: Array<Array<[number, number, number]>> = [
  [[0, 3, 0], [4, 3, 0]],
  [[0, 1, 0], [1, 1, 0], [2, 1, 0], [3, 1, 0], [4, 1, 0], [5, 1, 0], [6, 1, 0], [7, 1, 0]],
  [[0, 2, 0], [2, 1, 7], [4, 2, 0], [6, 1, 7], [7, 1, 12]],
  [[0, 1, 0], [1, 1, 12], [2, 1, 0], [3, 1, 12], [4, 1, 0], [5, 1, 12], [6, 1, 0], [7, 1, 12]],
  [[0, 2, 0], [3, 1, 0], [5, 2, 7], [7, 1, 5]]
]

// Short lines in plain words, so every voice pronounces them; a phrase is sung one pitch per word.
const LYRICS = [
  'shine a light along the river road', 'we were running till the morning came', 'hold the line and never let it go',
  'every window open to the sea', 'carry me across the silver town', 'find a way back home tonight',
  'the summer rain is falling down again', 'walking slowly under golden skies', 'tell me what the wind is singing now',
  'all the voices calling out my name', 'dancing in the shadow of the moon', 'keep the fire burning in the dark'
]
const ESPEAK_VOICES = ['en-us+f3', 'en-us+m3', 'en+f2', 'en-gb+m5', 'en-us+f4', 'en+m2']
const FLITE_VOICES = ['slt', 'rms', 'awb']

export interface VocalPart {
  engine: 'espeak-ng' | 'flite'
  voice: string
  /** espeak-ng's base pitch, 0–99. */
  basePitch: number
  /** Speaking rate, percent of the voice's normal. */
  ratePercent: number
  /** Lyric lines, each with one pitch per word in semitones above the tonic. */
  phrases: Array<{ words: string[], semitones: number[] }>
  /** Seconds of rest between phrases: under 1 s, so no 1-s frame of the vocal is silent. */
  gapsSec: number[]
}

export interface Song {
  seed: number
  style: string
  tempo: number
  key: string
  mode: 'major' | 'minor'
  bars: number
  durationSec: number
  progression: number[]
  programs: { bass: number, comp: number, pad: number }
  /** Level of each stem after loudness normalisation, in dB. */
  gainsDb: Record<ReferenceStem, number>
  vocal: VocalPart
  midi: { drums: MidiData, bass: MidiData, other: MidiData }
}

interface Note { tick: number, length: number, pitch: number, velocity: number }

/** One-track MIDI of a channel's notes, with tempo, program, pan and volume up front. */
function track (tempo: number, channel: number, setup: { program?: number, pan: number, volume: number }, notes: Note[]): MidiData {
  const timed: Array<{ tick: number, order: number, event: MidiEvent }> = []
  for (const n of notes) {
    timed.push({ tick: n.tick, order: 1, event: { deltaTime: 0, type: 'noteOn', channel, noteNumber: n.pitch, velocity: n.velocity } })
    timed.push({ tick: n.tick + n.length, order: 0, event: { deltaTime: 0, type: 'noteOff', channel, noteNumber: n.pitch, velocity: 0 } })
  }
  // At one tick, note-offs go first, so a repeated note is released before it sounds again.
  timed.sort((a, b) => a.tick - b.tick || a.order - b.order)
  const head: MidiEvent[] = [
    { deltaTime: 0, type: 'setTempo', microsecondsPerBeat: Math.round(60_000_000 / tempo) },
    ...(setup.program === undefined ? [] : [{ deltaTime: 0, type: 'programChange', channel, programNumber: setup.program } as MidiEvent]),
    { deltaTime: 0, type: 'controller', channel, controllerType: 7, value: setup.volume },
    { deltaTime: 0, type: 'controller', channel, controllerType: 10, value: setup.pan }
  ]
  let last = 0
  const events = timed.map(({ tick, event }) => {
    event.deltaTime = tick - last
    last = tick
    return event
  })
  return { header: { format: 0, numTracks: 1, ticksPerBeat: TICKS_PER_BEAT }, tracks: [[...head, ...events, { deltaTime: 0, type: 'endOfTrack' }]] }
}

export function midiBytes (midi: MidiData): Uint8Array {
  return Uint8Array.from(writeMidi(midi))
}

/**
 * murmur3's finaliser: xoroshiro128+'s first outputs follow its seed closely, so neighbouring
 * seeds (the set uses 2026, 2027, …) would otherwise give neighbouring tempos and keys.
 */
function mix (seed: number): number {
  let h = seed >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** The song of one seed; `style` picks the drum groove (and so the feel) explicitly. */
export function composeSong (seed: number, style: string): Song {
  const groove = DRUM_STYLES[style]
  if (!groove) throw new RangeError(`unknown style ${style}`)
  const rng = xoroshiro128plus(mix(seed))
  const int = (from: number, to: number) => uniformInt(rng, from, to)
  const pick = <T>(list: readonly T[]): T => list[int(0, list.length - 1)]!
  const real = (from: number, to: number) => from + (to - from) * uniformFloat64(rng)

  const tempo = int(78, 136)
  const tonic = int(0, 11)
  const mode = uniformFloat64(rng) < 0.5 ? 'major' : 'minor'
  const scale = mode === 'major' ? MAJOR : MINOR
  const progression = pick(PROGRESSIONS[mode])
  const barSec = (4 * 60) / tempo
  // Whole bars, 20–30 s: the set's stated length.
  const bars = Math.max(Math.ceil(20 / barSec), Math.min(Math.floor(30 / barSec), int(Math.ceil(22 / barSec), Math.floor(28 / barSec))))
  const durationSec = bars * barSec
  const bar = 4 * TICKS_PER_BEAT
  const degree = (d: number) => scale[((d % 7) + 7) % 7]! + 12 * Math.floor(d / 7)
  const human = () => int(-6, 6)
  const velocity = (base: number) => Math.max(1, Math.min(127, base + int(-10, 10)))

  // Drums: the groove every bar, a crash every four, a tom fill closing each four-bar phrase.
  const step = bar / groove.steps
  const drums: Note[] = []
  for (let b = 0; b < bars; b++) {
    const fill = b % 4 === 3 && b < bars - 1
    for (const [note, steps] of Object.entries(groove.hits)) {
      for (const s of steps) {
        if (fill && s >= groove.steps / 2) continue
        const accent = s % (groove.steps / 4) === 0 ? 100 : 78
        drums.push({ tick: Math.max(0, b * bar + s * step + human()), length: step, pitch: Number(note), velocity: velocity(accent) })
      }
    }
    if (b % 4 === 0) drums.push({ tick: b * bar, length: 4 * step, pitch: CRASH, velocity: velocity(105) })
    if (fill) {
      for (let s = groove.steps / 2; s < groove.steps; s++) drums.push({ tick: b * bar + s * step, length: step, pitch: TOMS[Math.floor((s - groove.steps / 2) * TOMS.length / (groove.steps / 2))]!, velocity: velocity(95) })
    }
  }

  // Bass: the chord root (low register) in one of the rhythms, the same through the song.
  const bassPattern = pick(BASS_PATTERNS)
  const bassBase = 28 + ((tonic + 12 - 4) % 12)
  const bass: Note[] = []
  for (let b = 0; b < bars; b++) {
    const root = bassBase + degree(progression[b % progression.length]!)
    for (const [s, length, interval] of bassPattern) {
      bass.push({ tick: b * bar + s * (bar / 8), length: length * (bar / 8) - 30, pitch: root + interval, velocity: velocity(96) })
    }
  }

  // Chords: a comping part panned left and a sustained pad panned right, voiced around middle C.
  const chordBase = 55 + ((tonic + 12 - 7) % 12)
  const compRhythm = pick([[0], [0, 2], [1, 3], [0, 1.5, 3]])
  const comp: Note[] = []
  const pad: Note[] = []
  for (let b = 0; b < bars; b++) {
    const d = progression[b % progression.length]!
    const triad = [d, d + 2, d + 4].map((x) => chordBase + degree(x))
    for (const beat of compRhythm) {
      const length = compRhythm.length === 1 ? bar - 60 : TICKS_PER_BEAT - 40
      for (const pitch of triad) comp.push({ tick: b * bar + beat * TICKS_PER_BEAT, length, pitch, velocity: velocity(82) })
    }
    for (const pitch of [...triad.map((p) => p + 12), triad[0]! + 7]) pad.push({ tick: b * bar, length: bar - 20, pitch, velocity: velocity(70) })
  }
  const programs = { bass: pick(BASS_PROGRAMS), comp: pick(COMP_PROGRAMS), pad: pick(PAD_PROGRAMS) }
  const compTrack = track(tempo, 0, { program: programs.comp, pan: int(8, 30), volume: 100 }, comp)
  const padTrack = track(tempo, 1, { program: programs.pad, pan: int(98, 120), volume: 90 }, pad)
  const other: MidiData = { header: { format: 1, numTracks: 2, ticksPerBeat: TICKS_PER_BEAT }, tracks: [compTrack.tracks[0]!, padTrack.tracks[0]!] }

  // Voice: lines of the lyric sung one pitch per word, on the chord tones and steps of the scale.
  const flite = style === 'halftime'
  const phrases = Array.from({ length: 8 }, () => {
    const words = pick(LYRICS).split(' ')
    let at = int(0, 4)
    const semitones = words.map(() => {
      at = Math.max(-2, Math.min(7, at + pick([-2, -1, 0, 1, 1, 2, 3])))
      return degree(at)
    })
    return { words, semitones }
  })
  const vocal: VocalPart = {
    engine: flite ? 'flite' : 'espeak-ng',
    voice: flite ? pick(FLITE_VOICES) : pick(ESPEAK_VOICES),
    basePitch: int(35, 65),
    ratePercent: int(55, 80),
    phrases,
    gapsSec: phrases.map(() => Math.round(real(0.15, 0.6) * 100) / 100)
  }

  const gainsDb = { vocals: int(-1, 4), drums: int(-3, 1), bass: int(-3, 1), other: int(-4, 0) }
  return {
    seed,
    style,
    tempo,
    key: `${NOTE_NAMES[tonic]} ${mode}`,
    mode,
    bars,
    durationSec,
    progression,
    programs,
    gainsDb,
    vocal,
    midi: {
      drums: track(tempo, DRUM_CHANNEL, { pan: 64, volume: 110 }, drums),
      bass: track(tempo, 2, { program: programs.bass, pan: 64, volume: 110 }, bass),
      other
    }
  }
}

/**
 * The sung line as SSML for espeak-ng: flat intonation within each word (range x-low) and one
 * relative pitch per word, so it holds notes like a (robotic) singer rather than speaking.
 */
export function singingSsml (phrase: { words: string[], semitones: number[] }, ratePercent: number): string {
  const words = phrase.words.map((word, i) => {
    const percent = Math.round((2 ** (phrase.semitones[i]! / 12) - 1) * 100)
    return `<prosody pitch="${percent >= 0 ? '+' : ''}${percent}%">${word}</prosody>`
  })
  return `<speak><prosody rate="${ratePercent}%" range="x-low">${words.join(' ')}</prosody></speak>`
}
