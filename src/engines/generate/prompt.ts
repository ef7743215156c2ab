import { parseKey, pitchClassOf, type Key, type Mode } from './theory.ts'
import {
  DRUMLESS_WORDS, DRUM_WORDS, FILLER_WORDS, GENRES, INSTRUMENTS, MOODS, NEGATIONS, TEMPO_WORDS,
  type Genre, type Instrument, type Mood
} from './vocabulary.ts'

/** Longest prompt accepted (characters); the schema refuses longer ones before any work. */
export const PROMPT_MAX_CHARS = 1000
// What the reading keeps of words it did not understand (for composition.json).
const UNKNOWN_MAX = 20
const UNKNOWN_WORD_MAX = 40

/** Something the prompt decided, with the prompt's own words that decided it. */
export interface Match<T> {
  value: T
  words: string
}

export interface PromptReading {
  /** The prompt as read: control and format characters removed, white space collapsed. */
  text: string
  genres: Match<Genre>[]
  moods: Match<Mood>[]
  /** "80 bpm", "120bpm", "tempo 90". */
  bpm: Match<number>[]
  tempoWords: Match<{ at: number, label: string }>[]
  keys: Match<Key>[]
  /** "minor key", "in a major key": a mode without a tonic. */
  modes: Match<Mode>[]
  instruments: Match<Instrument>[]
  /** true: the prompt asks for drums; false: "no drums", "drumless". */
  drums: Match<boolean>[]
  /** Instruments after "no"/"without": "no bass" takes the bass part away. */
  excluded: Match<Instrument | 'drums'>[]
  unknown: string[]
}

interface Token {
  /** As written ("F#m", "Piano"). */
  raw: string
  lower: string
  number: boolean
}

/**
 * The prompt as text: control characters (C0, C1) and format characters (zero-width, bidi
 * overrides) become spaces, runs of white space one space. One pass over the characters.
 */
export function normalisePrompt (prompt: string): string {
  let out = ''
  let space = false
  for (const char of prompt) {
    const code = char.codePointAt(0)!
    const invisible = code < 0x20 || (code >= 0x7f && code <= 0x9f) || /^[\p{Cf}\p{Z}]$/u.test(char)
    if (invisible || char === ' ') {
      space = out.length > 0
      continue
    }
    if (space) out += ' '
    space = false
    out += char
  }
  return out
}

/**
 * Words and numbers, in one pass: letters (with `#` and the sharp and flat signs, so "F#m" and
 * "B♭" stay one word) and digits form separate tokens ("120bpm" is "120" "bpm"); anything
 * else separates them ("lo-fi" is "lo" "fi").
 */
export function tokenise (text: string): Token[] {
  const tokens: Token[] = []
  let current = ''
  let kind: 'letter' | 'digit' | undefined
  const flush = () => {
    if (current) tokens.push({ raw: current, lower: current.toLowerCase(), number: kind === 'digit' })
    current = ''
    kind = undefined
  }
  for (const char of text) {
    const mapped = char === '♯' ? '#' : char === '♭' ? 'b' : char
    const next = mapped >= '0' && mapped <= '9' ? 'digit' : mapped === '#' || /^\p{L}$/u.test(mapped) ? 'letter' : undefined
    if (next !== kind) flush()
    if (next) { current += mapped; kind = next }
  }
  flush()
  return tokens
}

type Entry =
  | { kind: 'genre', value: Genre }
  | { kind: 'mood', value: Mood }
  | { kind: 'tempo', value: { at: number, label: string } }
  | { kind: 'instrument', value: Instrument }
  | { kind: 'drums', value: boolean }

// Every word and two-word phrase of the vocabulary; "hip hop" is also found as "hiphop".
const PHRASES = new Map<string, Entry>()
function add (words: string[], entry: Entry): void {
  for (const word of words) {
    for (const form of [word, word.replaceAll(' ', '')]) if (!PHRASES.has(form)) PHRASES.set(form, entry)
  }
}
for (const genre of GENRES) add(genre.words, { kind: 'genre', value: genre })
for (const mood of MOODS) add(mood.words, { kind: 'mood', value: mood })
for (const [word, tempo] of Object.entries(TEMPO_WORDS)) add([word], { kind: 'tempo', value: tempo })
for (const instrument of INSTRUMENTS) add(instrument.words, { kind: 'instrument', value: instrument })
add(DRUM_WORDS, { kind: 'drums', value: true })
add(DRUMLESS_WORDS, { kind: 'drums', value: false })

/** The vocabulary's phrases, for the tests that keep it free of clashes. */
export const vocabularyPhrases = (): ReadonlyMap<string, Entry> => PHRASES

const MODE_WORDS: Record<string, Mode> = { major: 'major', maj: 'major', minor: 'minor', min: 'minor' }
const NOTE_NAME = /^[a-g][#b]?$/
// "F#m", "Am", "Bb": a chord-symbol key, only with a capital letter ("am" is a word).
const KEY_SYMBOL = /^[A-G][#b]?m?$/

/** A tonic and accidental spread over words: "f sharp", "b flat". */
function noteAt (tokens: Token[], i: number): { pc: number, length: number } | undefined {
  const token = tokens[i]
  if (!token || !NOTE_NAME.test(token.lower)) return undefined
  const pc = pitchClassOf(token.lower)!
  const accidental = tokens[i + 1]?.lower
  if (token.lower.length === 1 && accidental === 'sharp') return { pc: (pc + 1) % 12, length: 2 }
  if (token.lower.length === 1 && accidental === 'flat') return { pc: (pc + 11) % 12, length: 2 }
  return { pc, length: 1 }
}

const BPM_MIN = 40
const BPM_MAX = 240

/**
 * Reads a prompt into what it asks for. Linear in its length: one pass over the characters
 * to normalise and tokenise, one over the tokens with a look-ahead of at most three.
 */
export function readPrompt (prompt: string): PromptReading {
  const text = normalisePrompt(prompt)
  const tokens = tokenise(text)
  const reading: PromptReading = { text, genres: [], moods: [], bpm: [], tempoWords: [], keys: [], modes: [], instruments: [], drums: [], excluded: [], unknown: [] }
  const words = (from: number, length: number) => tokens.slice(from, from + length).map((t) => t.raw).join(' ')
  let negate = false

  for (let i = 0; i < tokens.length;) {
    const token = tokens[i]!
    const next = tokens[i + 1]
    const wasNegated = negate
    negate = false

    if (NEGATIONS.includes(token.lower)) { negate = true; i++; continue }

    // Tempo: "80 bpm", "80bpm", "bpm 80", "tempo 80".
    if (token.number && next?.lower === 'bpm') {
      const bpm = Number(token.lower)
      if (token.lower.length <= 3 && bpm >= BPM_MIN && bpm <= BPM_MAX) reading.bpm.push({ value: bpm, words: words(i, 2) })
      i += 2
      continue
    }
    if ((token.lower === 'bpm' || token.lower === 'tempo') && next?.number) {
      const bpm = Number(next.lower)
      if (next.lower.length <= 3 && bpm >= BPM_MIN && bpm <= BPM_MAX) reading.bpm.push({ value: bpm, words: words(i, 2) })
      i += 2
      continue
    }

    // Key: "A minor", "f sharp major", "C# min", "F#m", "in C"; "a minor key" is only a mode.
    const note = noteAt(tokens, i)
    const modeAfter = note ? MODE_WORDS[tokens[i + note.length]?.lower ?? ''] : undefined
    if (note && modeAfter) {
      const length = note.length + 1
      if (token.raw === 'a' && tokens[i + length]?.lower === 'key') {
        reading.modes.push({ value: modeAfter, words: words(i, length + 1) })
        i += length + 1
      } else {
        reading.keys.push({ value: { tonic: note.pc, mode: modeAfter }, words: words(i, length) })
        i += length
      }
      continue
    }
    if (KEY_SYMBOL.test(token.raw) && (token.raw.length > 1 || tokens[i - 1]?.lower === 'in' || tokens[i - 1]?.lower === 'of')) {
      const key = parseKey(token.raw)
      if (key) { reading.keys.push({ value: key, words: token.raw }); i++; continue }
    }
    if (MODE_WORDS[token.lower] && token.lower.length > 3) {
      reading.modes.push({ value: MODE_WORDS[token.lower]!, words: token.raw })
      i++
      continue
    }

    // Vocabulary: the two-word phrase first ("electric piano" before "piano").
    const pair = next ? PHRASES.get(`${token.lower} ${next.lower}`) : undefined
    const entry = pair ?? PHRASES.get(token.lower)
    if (entry) {
      const length = pair ? 2 : 1
      const said = words(i, length)
      if (wasNegated && (entry.kind === 'instrument' || entry.kind === 'drums')) {
        reading.excluded.push({ value: entry.kind === 'drums' ? 'drums' : entry.value, words: `${tokens[i - 1]!.raw} ${said}` })
      } else {
        switch (entry.kind) {
          case 'genre': reading.genres.push({ value: entry.value, words: said }); break
          case 'mood': reading.moods.push({ value: entry.value, words: said }); break
          case 'tempo': reading.tempoWords.push({ value: entry.value, words: said }); break
          case 'instrument': reading.instruments.push({ value: entry.value, words: said }); break
          case 'drums': reading.drums.push({ value: entry.value, words: said }); break
        }
      }
      i += length
      continue
    }
    if (!token.number && token.lower.length > 2 && !FILLER_WORDS.has(token.lower) && reading.unknown.length < UNKNOWN_MAX && !reading.unknown.includes(token.lower)) {
      reading.unknown.push(token.lower.slice(0, UNKNOWN_WORD_MAX))
    }
    i++
  }
  return reading
}
