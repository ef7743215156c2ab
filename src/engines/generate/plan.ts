import { readPrompt, type Match, type PromptReading } from './prompt.ts'
import { hashText, randomFor, type Random } from './random.ts'
import { parseKey, type Key, type Mode } from './theory.ts'
import { DEFAULT_GENRE, GENRES, programName, type DrumStyle, type Genre, type Instrument, type Mood } from './vocabulary.ts'

export interface GenerateRequest {
  prompt: string
  durationSec: number
  seed?: number
  /** BPM; overrides the prompt. */
  tempo?: number
  /** "A minor", "F#m"; overrides the prompt. */
  key?: string
}

export type PartName = 'melody' | 'chords' | 'pad' | 'bass' | 'drums'
export type SectionName = 'intro' | 'verse' | 'chorus' | 'bridge' | 'outro'

export interface PartPlan {
  part: PartName
  /** MIDI channel, 0-based; drums are on 9 (General MIDI channel 10). */
  channel: number
  program: number
  instrument: string
  from: string
}

export interface Section {
  name: SectionName
  startBar: number
  bars: number
  /** One chord a bar, repeated through the section. */
  progression: string[]
}

/** Every choice of a piece, each with the reason it was made; the composer plays it. */
export interface Plan {
  prompt: string
  seed: number
  seedFrom: string
  durationSec: number
  genre: Genre
  genreFrom: string
  mood: Mood | undefined
  moodFrom: string
  bpm: number
  tempoFrom: string
  key: Key
  keyFrom: string
  parts: PartPlan[]
  drums: DrumStyle | null
  drumsFrom: string
  /** Bars, the last one held to the end (it may be longer than a bar). */
  bars: number
  form: Section[]
  unknownWords: string[]
  unusedInstruments: string[]
}

export const TEMPO_MIN = 40
export const TEMPO_MAX = 240
export const DURATION_MIN_SEC = 1
export const DURATION_MAX_SEC = 300
export const BEATS_PER_BAR = 4

const CHANNELS: Record<PartName, number> = { melody: 0, chords: 1, pad: 2, bass: 3, drums: 9 }
// Common tonics first: a seed-chosen key is more often one players know.
const TONICS: Record<Mode, number[]> = { major: [0, 7, 2, 9, 5, 10, 3, 4, 0, 7, 2, 5], minor: [9, 4, 2, 11, 0, 7, 5, 6, 9, 4, 2, 1] }
// Stand-ins when the prompt excludes a genre's own instrument ("lofi, no piano").
const FALLBACK_CHORDS = [0, 48, 25, 16, 89]
const FALLBACK_MELODY = [73, 40, 0, 81, 11]
// A prompt's generic "guitar" or "bass" becomes the genre's own kind when it has one.
const GUITARS = { from: 24, to: 31 }
const BASSES = { from: 32, to: 39 }

const quote = (words: string) => `"${words}" in the prompt`

function chooseTempo (request: GenerateRequest, reading: PromptReading, genre: Genre, mood: Mood | undefined, random: Random): { bpm: number, from: string } {
  const [low, high] = genre.tempo
  if (request.tempo !== undefined) return { bpm: request.tempo, from: 'the tempo parameter' }
  const stated = reading.bpm[0]
  if (stated) return { bpm: stated.value, from: quote(stated.words) }
  const word = reading.tempoWords[0]
  if (word) {
    const bpm = Math.round(low + word.value.at * (high - low))
    return { bpm, from: `${quote(word.words)}: ${word.value.label} for ${genre.name} (${low}–${high} BPM)` }
  }
  const base = random.int(low, high)
  if (!mood || mood.tempo === 1) return { bpm: base, from: `the seed, within ${genre.name}'s ${low}–${high} BPM` }
  return { bpm: Math.round(base * mood.tempo), from: `the seed, within ${genre.name}'s ${low}–${high} BPM, ${mood.tempo < 1 ? 'slower' : 'faster'} for ${quote(reading.moods[0]!.words)}` }
}

function chooseKey (request: GenerateRequest, reading: PromptReading, genre: Genre, random: Random): { key: Key, from: string } {
  const parameter = request.key === undefined ? undefined : parseKey(request.key)
  if (parameter) return { key: parameter, from: 'the key parameter' }
  const stated = reading.keys[0]
  if (stated) return { key: stated.value, from: quote(stated.words) }
  const modeWord = reading.modes[0]
  const moody = reading.moods.find((m) => m.value.mode !== undefined)
  const mode: Mode = modeWord?.value ?? moody?.value.mode ?? (random.chance(genre.major) ? 'major' : 'minor')
  const modeFrom = modeWord
    ? quote(modeWord.words)
    : moody ? `${quote(moody.words)} (${moody.value.name} music is in ${moody.value.mode})` : `the seed (${genre.name} is major ${Math.round(genre.major * 100)}% of the time)`
  return { key: { tonic: random.pick(TONICS[mode]), mode }, from: `mode from ${modeFrom}; tonic from the seed` }
}

// Words that name a family rather than an instrument: the genre says which one.
const GENERIC = new Set(['guitar', 'guitars', 'bass', 'bassline'])

/** The genre's own program for a generic word ("guitar" in rock is a distortion guitar). */
function specialise (match: Match<Instrument>, genre: Genre): number {
  if (!GENERIC.has(match.words.toLowerCase())) return match.value.program
  const family = match.value.bass ? BASSES : GUITARS
  const own = [genre.programs.chords, genre.programs.melody, genre.programs.bass]
  return own.find((program) => program >= family.from && program <= family.to) ?? match.value.program
}

function chooseParts (reading: PromptReading, genre: Genre, mood: Mood | undefined, drums: DrumStyle | null, drumsFrom: string): { parts: PartPlan[], unused: string[] } {
  const excluded = new Set(reading.excluded.flatMap((e) => e.value === 'drums' ? [] : [e.value.program]))
  const excludedBass = reading.excluded.some((e) => e.value !== 'drums' && e.value.bass === true)
  const seen = new Set<number>()
  const named = reading.instruments
    .filter((m) => !excluded.has(m.value.program))
    .map((m) => ({ ...m, program: specialise(m, genre) }))
    .filter((m) => !seen.has(m.program) && seen.add(m.program))
  const melodic = named.filter((m) => !m.value.bass)
  const part = (name: PartName, program: number, from: string): PartPlan => ({ part: name, channel: CHANNELS[name], program, instrument: programName(program), from })
  const fallback = (wanted: number, list: number[]) => excluded.has(wanted) ? list.find((p) => !excluded.has(p)) ?? wanted : wanted
  const parts: PartPlan[] = []

  const chordsNamed = melodic.find((m) => m.value.chordal)
  const melodyNamed = melodic.find((m) => m !== chordsNamed)
  const chordsProgram = chordsNamed?.program ?? fallback(genre.programs.chords, FALLBACK_CHORDS)
  const melody = melodyNamed
    ? part('melody', melodyNamed.program, quote(melodyNamed.words))
    : chordsNamed
      ? part('melody', chordsNamed.program, `${quote(chordsNamed.words)}: the one instrument named plays the tune too`)
      : part('melody', fallback(genre.programs.melody, FALLBACK_MELODY), `${genre.name}'s lead`)
  parts.push(melody)
  parts.push(part('chords', chordsProgram, chordsNamed ? quote(chordsNamed.words) : `${genre.name}'s harmony instrument`))

  const third = melodic.find((m) => m !== chordsNamed && m !== melodyNamed)
  const epic = mood?.name === 'epic'
  if (third) parts.push(part('pad', third.program, `${quote(third.words)}: a third instrument sustains the harmony`))
  else if (genre.programs.pad !== null && !excluded.has(genre.programs.pad)) parts.push(part('pad', genre.programs.pad, `${genre.name}'s sustained layer`))
  else if (epic) parts.push(part('pad', 48, `${quote(reading.moods[0]!.words)}: strings under everything`))

  const bassNamed = named.find((m) => m.value.bass)
  if (bassNamed) parts.push(part('bass', bassNamed.program, quote(bassNamed.words)))
  else if (!excludedBass) parts.push(part('bass', genre.programs.bass, `${genre.name}'s bass`))

  if (drums) parts.push({ ...part('drums', 0, drumsFrom), instrument: 'Standard Drum Kit' })
  const used = new Set([melodyNamed, chordsNamed, third, bassNamed])
  return { parts, unused: named.filter((m) => !used.has(m)).map((m) => m.words) }
}

function chooseDrums (reading: PromptReading, genre: Genre): { style: DrumStyle | null, from: string } {
  const off = reading.excluded.find((e) => e.value === 'drums') ?? reading.drums.find((d) => !d.value)
  if (off) return { style: null, from: `${quote(off.words)}: no drums` }
  const on = reading.drums.find((d) => d.value)
  if (genre.drums) return { style: genre.drums, from: on ? `${quote(on.words)}, in ${genre.name} style` : `${genre.name}'s groove` }
  if (on) return { style: 'backbeat', from: `${quote(on.words)}: ${genre.name} has no drums of its own, so a backbeat` }
  return { style: null, from: `${genre.name} has no drums` }
}

/**
 * Sections to fill `bars`: an intro and an outro around verses and choruses (a bridge in
 * longer pieces), 8 bars each in long pieces and 4 in short ones; a short remainder goes to
 * the section before it rather than standing alone.
 */
export function formFor (bars: number): { name: SectionName, bars: number }[] {
  if (bars <= 4) return [{ name: 'verse', bars }]
  if (bars <= 9) return [{ name: 'verse', bars: Math.ceil(bars / 2) }, { name: 'chorus', bars: Math.floor(bars / 2) }]
  const edge = bars >= 32 ? 4 : 2
  const sections: { name: SectionName, bars: number }[] = [{ name: 'intro', bars: edge }]
  const order: SectionName[] = ['verse', 'chorus', 'verse', 'chorus', 'bridge', 'chorus']
  let remaining = bars - 2 * edge
  const unit = remaining >= 24 ? 8 : 4
  for (let i = 0; remaining > 0; i++) {
    let length = Math.min(unit, remaining)
    if (remaining - length > 0 && remaining - length < unit / 2) length = remaining
    sections.push({ name: order[i % order.length]!, bars: length })
    remaining -= length
  }
  sections.push({ name: 'outro', bars: edge })
  return sections
}

function chooseProgressions (genre: Genre, key: Key, random: Random): Record<SectionName, string[]> {
  const pool = genre.progressions[key.mode]
  const order = [...pool.keys()]
  // A shuffle by the seed: verse, chorus and bridge get different progressions while the pool lasts.
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.int(0, i)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  const progression = (n: number) => pool[order[n % order.length]!]!.split(' ')
  const verse = progression(0)
  const chorus = progression(1)
  return { intro: verse, verse, chorus, bridge: progression(2), outro: chorus }
}

/** Reads the prompt and makes every decision of the piece; pure and deterministic. */
export function planPiece (request: GenerateRequest): Plan {
  const reading = readPrompt(request.prompt)
  const seed = request.seed ?? hashText(reading.text.toLowerCase())
  const seedFrom = request.seed === undefined ? 'a hash of the prompt (pass seed for another piece from the same words)' : 'the seed parameter'
  const random = randomFor(seed, 'plan')
  const genreMatch = reading.genres[0]
  const genre = genreMatch?.value ?? GENRES.find((g) => g.name === DEFAULT_GENRE)!
  const genreFrom = genreMatch ? quote(genreMatch.words) : `no genre word in the prompt: ${DEFAULT_GENRE}, the default`
  const moodMatch = reading.moods[0]
  const tempo = chooseTempo(request, reading, genre, moodMatch?.value, random)
  const bpm = Math.min(TEMPO_MAX, Math.max(TEMPO_MIN, Math.round(tempo.bpm)))
  const key = chooseKey(request, reading, genre, random)
  const drums = chooseDrums(reading, genre)
  const { parts, unused } = chooseParts(reading, genre, moodMatch?.value, drums.style, drums.from)
  const beats = (request.durationSec * bpm) / 60
  const bars = Math.max(1, Math.floor(beats / BEATS_PER_BAR))
  const progressions = chooseProgressions(genre, key.key, random)
  let startBar = 0
  const form = formFor(bars).map((s) => {
    const section: Section = { name: s.name, startBar, bars: s.bars, progression: progressions[s.name] }
    startBar += s.bars
    return section
  })
  return {
    prompt: reading.text,
    seed,
    seedFrom,
    durationSec: request.durationSec,
    genre,
    genreFrom,
    mood: moodMatch?.value,
    moodFrom: moodMatch ? quote(moodMatch.words) : 'no mood word in the prompt',
    bpm,
    tempoFrom: tempo.from,
    key: key.key,
    keyFrom: key.from,
    parts,
    drums: drums.style,
    drumsFrom: drums.from,
    bars,
    form,
    unknownWords: reading.unknown,
    unusedInstruments: unused
  }
}
