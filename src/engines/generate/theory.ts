/**
 * Pure music theory for the composer: keys, scales, chords named by Roman numerals. Pitches
 * are MIDI note numbers; pitch classes are 0–11 with C = 0.
 */

export type Mode = 'major' | 'minor'

export interface Key {
  /** Pitch class of the tonic. */
  tonic: number
  mode: Mode
}

const LETTERS: Record<string, number> = { c: 0, d: 2, e: 4, f: 5, g: 7, a: 9, b: 11 }
// The conventional spelling of each tonic (fewest accidentals, sharps for F# major/minor).
const MAJOR_NAMES = ['C', 'Db', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B']
const MINOR_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'G#', 'A', 'Bb', 'B']
// Key-signature accidentals of each major tonic (+ sharps, − flats), for the MIDI meta event.
const MAJOR_SHARPS = [0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5]

export const SCALES: Record<Mode, readonly number[]> = {
  major: [0, 2, 4, 5, 7, 9, 11],
  // Natural minor; chords that want the leading tone (V, V7) carry it themselves.
  minor: [0, 2, 3, 5, 7, 8, 10]
}

/**
 * The `key` parameter's grammar, also the schema's pattern: a tonic letter, an optional
 * accidental, then nothing (major), `m`/`min`/`minor` or `maj`/`major`.
 */
export const KEY_PATTERN = '^[A-Ga-g][#b]?( ?(m|min|minor|maj|major))?$'

/** Pitch class of a note name ("F#", "bb", "C"), or undefined. */
export function pitchClassOf (name: string): number | undefined {
  const base = LETTERS[name[0]?.toLowerCase() ?? '']
  if (base === undefined || name.length > 2) return undefined
  const accidental = name[1]
  if (accidental === undefined) return base
  if (accidental === '#') return (base + 1) % 12
  if (accidental === 'b') return (base + 11) % 12
  return undefined
}

/** Parses a `key` parameter that matched KEY_PATTERN ("A minor", "F#m", "Bb"). */
export function parseKey (text: string): Key | undefined {
  const trimmed = text.trim()
  const hasAccidental = trimmed[1] === '#' || trimmed[1] === 'b'
  const tonic = pitchClassOf(trimmed.slice(0, hasAccidental ? 2 : 1))
  if (tonic === undefined) return undefined
  const suffix = trimmed.slice(hasAccidental ? 2 : 1).trim().toLowerCase()
  if (suffix === '' || suffix === 'maj' || suffix === 'major') return { tonic, mode: 'major' }
  if (suffix === 'm' || suffix === 'min' || suffix === 'minor') return { tonic, mode: 'minor' }
  return undefined
}

export function keyName (key: Key): string {
  return `${(key.mode === 'major' ? MAJOR_NAMES : MINOR_NAMES)[key.tonic]} ${key.mode}`
}

/** Sharps (positive) or flats (negative) of the key signature. */
export function keySignature (key: Key): number {
  return MAJOR_SHARPS[key.mode === 'major' ? key.tonic : (key.tonic + 3) % 12]!
}

export interface Chord {
  /** As written in the progression: "vi", "V7", "bVII", "iiø7". */
  numeral: string
  /** Scale degree of the root, 0–6. */
  degree: number
  /** Pitch class of the root. */
  root: number
  /** Intervals above the root, in semitones, ascending. */
  intervals: number[]
}

const NUMERALS = ['i', 'ii', 'iii', 'iv', 'v', 'vi', 'vii']

/**
 * One Roman numeral in `key`: the degree counts along the key's own scale (so VI in A minor is
 * F), case gives the third (upper major, lower minor), `°` diminished, `ø7` half-diminished,
 * `7` a seventh (dominant on a major triad, minor on a minor one), `maj7` a major seventh,
 * and a leading `b` lowers the root (borrowed chords: bVII in a major key).
 */
export function chordOf (numeral: string, key: Key): Chord {
  let rest = numeral
  let shift = 0
  if (rest.startsWith('b')) { shift = -1; rest = rest.slice(1) }
  let letters = 0
  while (letters < rest.length && 'ivIV'.includes(rest[letters]!)) letters++
  const roman = rest.slice(0, letters)
  const suffix = rest.slice(letters)
  const degree = NUMERALS.indexOf(roman.toLowerCase())
  if (degree < 0) throw new Error(`not a Roman numeral: ${numeral}`)
  const upper = roman === roman.toUpperCase()
  const triads: Record<string, number[]> = { major: [0, 4, 7], minor: [0, 3, 7], diminished: [0, 3, 6] }
  const diminished = suffix.startsWith('°') || suffix.startsWith('ø')
  const intervals = [...triads[diminished ? 'diminished' : upper ? 'major' : 'minor']!]
  if (suffix.endsWith('maj7')) intervals.push(11)
  else if (suffix.endsWith('°7')) intervals.push(9)
  else if (suffix.endsWith('7')) intervals.push(10)
  const root = (key.tonic + SCALES[key.mode][degree]! + shift + 12) % 12
  return { numeral, degree, root, intervals }
}

export function chordPitchClasses (chord: Chord): number[] {
  return chord.intervals.map((interval) => (chord.root + interval) % 12)
}

/**
 * The scale a melody uses over `chord`: the key's scale with each chord tone put in place of
 * the scale degree it stands on (the chord's root, third, fifth and seventh are its degree,
 * two, four and six steps up), so the leading tone over V in minor replaces the seventh
 * degree and the flat seventh over bVII the natural one.
 */
export function scaleOver (chord: Chord, key: Key): number[] {
  const scale = SCALES[key.mode].map((step) => (key.tonic + step) % 12)
  chordPitchClasses(chord).forEach((pc, j) => { scale[(chord.degree + 2 * j) % 7] = pc })
  return [...new Set(scale)].sort((a, b) => a - b)
}

/** Every MIDI note in [low, high] whose pitch class is in `classes`, ascending. */
export function notesIn (classes: readonly number[], low: number, high: number): number[] {
  const wanted = new Set(classes)
  const notes: number[] = []
  for (let note = low; note <= high; note++) if (wanted.has(note % 12)) notes.push(note)
  return notes
}
