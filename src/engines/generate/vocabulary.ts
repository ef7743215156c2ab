/**
 * The words the composer understands, and what each one means musically. Data only: the
 * prompt reader (prompt.ts) matches them, the composer (composer.ts) plays them. Programs are
 * General MIDI program numbers, 0-based (0 = Acoustic Grand Piano).
 */

export type DrumStyle = 'backbeat' | 'rock' | 'four-on-floor' | 'techno' | 'boom-bap' | 'lofi' | 'jazz-ride' | 'shuffle' | 'folk' | 'funk'
export type BassStyle = 'root-fifth' | 'eighths' | 'walking' | 'offbeat' | 'syncopated' | 'sustained' | 'boom-chick' | 'funk'
export type CompStyle = 'sustain' | 'quarters' | 'syncopated' | 'charleston' | 'lofi' | 'strum' | 'power' | 'stabs' | 'offbeat' | 'arpeggio'

export interface Genre {
  name: string
  /** One word, or two written with a space: "hip hop" also matches "hip-hop" and "hiphop". */
  words: string[]
  /** The tempo range a piece of this genre picks from, BPM. */
  tempo: [number, number]
  /** Chance of a major key when neither the key nor the mood decides. */
  major: number
  progressions: { major: string[], minor: string[] }
  /** Eighth-note swing: 0.5 straight, 2/3 a full triplet swing. */
  swing: number
  drums: DrumStyle | null
  bass: BassStyle
  comp: CompStyle
  programs: { melody: number, chords: number, bass: number, pad: number | null }
  /** Notes per beat the melody aims at (0.5 sparse … 2 busy). */
  density: number
  /** Reverb send (MIDI CC 91, 0–127). */
  reverb: number
}

const POP = { major: ['I V vi IV', 'vi IV I V', 'I vi IV V', 'I IV vi V', 'IV I V vi'], minor: ['i VI III VII', 'i iv VI V', 'i VII VI VII', 'VI VII i i'] }
const JAZZ = { major: ['ii7 V7 Imaj7 Imaj7', 'Imaj7 vi7 ii7 V7', 'iii7 vi7 ii7 V7', 'IVmaj7 iii7 ii7 V7'], minor: ['iiø7 V7 i7 i7', 'i7 iv7 iiø7 V7', 'i7 VImaj7 iiø7 V7'] }
const LOFI = { major: ['ii7 V7 Imaj7 vi7', 'Imaj7 vi7 ii7 V7', 'IVmaj7 iii7 ii7 Imaj7', 'Imaj7 IVmaj7 iii7 vi7'], minor: ['i7 iv7 VII7 IIImaj7', 'i7 VImaj7 iv7 V7', 'iv7 v7 i7 i7', 'i7 iv7 VImaj7 V7'] }

export const GENRES: Genre[] = [
  { name: 'pop', words: ['pop'], tempo: [96, 124], major: 0.75, progressions: POP, swing: 0.5, drums: 'backbeat', bass: 'root-fifth', comp: 'syncopated', programs: { melody: 0, chords: 0, bass: 33, pad: 89 }, density: 1.5, reverb: 50 },
  { name: 'rock', words: ['rock', 'punk', 'grunge', 'metal'], tempo: [110, 150], major: 0.6, progressions: { major: ['I IV V IV', 'I bVII IV I', 'I V IV IV', 'vi IV I V'], minor: ['i VII VI VII', 'i iv VII i', 'i VI VII i'] }, swing: 0.5, drums: 'rock', bass: 'eighths', comp: 'power', programs: { melody: 29, chords: 30, bass: 34, pad: null }, density: 1.5, reverb: 30 },
  { name: 'jazz', words: ['jazz', 'jazzy', 'swing', 'bebop', 'bossa'], tempo: [100, 160], major: 0.65, progressions: JAZZ, swing: 0.64, drums: 'jazz-ride', bass: 'walking', comp: 'charleston', programs: { melody: 66, chords: 0, bass: 32, pad: null }, density: 1.5, reverb: 45 },
  { name: 'blues', words: ['blues', 'bluesy'], tempo: [76, 110], major: 0.8, progressions: { major: ['I7 IV7 I7 V7', 'I7 I7 IV7 IV7', 'IV7 IV7 I7 V7'], minor: ['i7 iv7 i7 V7', 'iv7 iv7 i7 V7'] }, swing: 0.64, drums: 'shuffle', bass: 'walking', comp: 'charleston', programs: { melody: 26, chords: 0, bass: 33, pad: null }, density: 1.25, reverb: 40 },
  { name: 'lofi', words: ['lofi', 'lo fi', 'chillhop'], tempo: [72, 90], major: 0.55, progressions: LOFI, swing: 0.6, drums: 'lofi', bass: 'syncopated', comp: 'lofi', programs: { melody: 4, chords: 4, bass: 33, pad: null }, density: 1, reverb: 60 },
  { name: 'hip hop', words: ['hip hop', 'rap', 'trap', 'boom bap'], tempo: [84, 98], major: 0.35, progressions: { major: ['vi IV I V', 'I vi IV V'], minor: ['i VI VII i', 'i iv VI V', 'i VI iv V'] }, swing: 0.56, drums: 'boom-bap', bass: 'syncopated', comp: 'stabs', programs: { melody: 4, chords: 0, bass: 38, pad: 89 }, density: 1.25, reverb: 40 },
  { name: 'electronic', words: ['electronic', 'edm', 'dance', 'synthwave', 'synthpop', 'chiptune', 'trance'], tempo: [118, 132], major: 0.5, progressions: POP, swing: 0.5, drums: 'four-on-floor', bass: 'offbeat', comp: 'offbeat', programs: { melody: 81, chords: 90, bass: 38, pad: 89 }, density: 1.5, reverb: 60 },
  { name: 'house', words: ['house', 'disco'], tempo: [120, 128], major: 0.55, progressions: { major: ['I vi IV V', 'IVmaj7 iii7 vi7 vi7', 'vi7 ii7 V7 Imaj7'], minor: ['i7 iv7 VII7 IIImaj7', 'i VI VII VII'] }, swing: 0.5, drums: 'four-on-floor', bass: 'offbeat', comp: 'offbeat', programs: { melody: 4, chords: 4, bass: 38, pad: 89 }, density: 1.25, reverb: 50 },
  { name: 'techno', words: ['techno', 'rave', 'industrial'], tempo: [126, 138], major: 0.2, progressions: { major: ['I I IV IV', 'vi vi IV V'], minor: ['i i VI VII', 'i i iv iv', 'i VI i VII'] }, swing: 0.5, drums: 'techno', bass: 'offbeat', comp: 'offbeat', programs: { melody: 81, chords: 90, bass: 39, pad: 95 }, density: 1, reverb: 55 },
  { name: 'funk', words: ['funk', 'funky', 'groove', 'groovy', 'soul'], tempo: [98, 116], major: 0.5, progressions: { major: ['I7 IV7 I7 IV7', 'ii7 V7 ii7 V7'], minor: ['i7 iv7 i7 iv7', 'i7 i7 iv7 VII7'] }, swing: 0.5, drums: 'funk', bass: 'funk', comp: 'stabs', programs: { melody: 61, chords: 27, bass: 33, pad: null }, density: 1.5, reverb: 35 },
  { name: 'folk', words: ['folk', 'acoustic', 'country', 'americana', 'bluegrass'], tempo: [90, 120], major: 0.75, progressions: { major: ['I IV I V', 'I V vi IV', 'I IV V I', 'vi IV I V'], minor: ['i VII VI VII', 'i iv VII III', 'i VI VII i'] }, swing: 0.5, drums: 'folk', bass: 'boom-chick', comp: 'strum', programs: { melody: 73, chords: 25, bass: 32, pad: null }, density: 1.25, reverb: 40 },
  { name: 'ambient', words: ['ambient', 'drone', 'meditation', 'atmospheric', 'new age'], tempo: [60, 80], major: 0.6, progressions: { major: ['Imaj7 IVmaj7 Imaj7 IVmaj7', 'I vi IV I', 'IV I V vi'], minor: ['i VI i VI', 'i7 VImaj7 IIImaj7 VII', 'i iv VI i'] }, swing: 0.5, drums: null, bass: 'sustained', comp: 'sustain', programs: { melody: 88, chords: 89, bass: 38, pad: 91 }, density: 0.5, reverb: 110 },
  { name: 'classical', words: ['classical', 'baroque', 'sonata', 'chamber'], tempo: [70, 110], major: 0.6, progressions: { major: ['I IV V I', 'I vi ii V', 'I V vi iii IV I IV V'], minor: ['i iv V i', 'i VI iv V', 'i iv VII III VI iiø7 V i'] }, swing: 0.5, drums: null, bass: 'sustained', comp: 'arpeggio', programs: { melody: 40, chords: 0, bass: 42, pad: 48 }, density: 1.25, reverb: 70 },
  { name: 'cinematic', words: ['cinematic', 'orchestral', 'soundtrack', 'film', 'score', 'trailer'], tempo: [70, 100], major: 0.4, progressions: { major: ['I V vi IV', 'IV V iii vi', 'I bVII IV I'], minor: ['i VI III VII', 'i VI VII VII', 'i iv VI V'] }, swing: 0.5, drums: null, bass: 'sustained', comp: 'sustain', programs: { melody: 60, chords: 48, bass: 43, pad: 52 }, density: 0.75, reverb: 90 }
]

export const DEFAULT_GENRE = 'pop'

export interface Mood {
  name: string
  words: string[]
  /** undefined: this mood takes either mode. */
  mode?: 'major' | 'minor'
  /** Multiplies the genre's tempo when no tempo is given. */
  tempo: number
  /** Multiplies every velocity. */
  loudness: number
  /** Multiplies the melody's notes per beat. */
  density: number
  /** Semitones the melody's register moves. */
  register: number
}

export const MOODS: Mood[] = [
  { name: 'calm', words: ['calm', 'peaceful', 'relaxing', 'relaxed', 'chill', 'gentle', 'soft', 'quiet', 'serene', 'mellow', 'tranquil', 'soothing', 'sleepy', 'lullaby'], tempo: 0.88, loudness: 0.78, density: 0.7, register: 0 },
  { name: 'happy', words: ['happy', 'joyful', 'cheerful', 'bright', 'uplifting', 'sunny', 'playful', 'fun', 'hopeful', 'optimistic'], mode: 'major', tempo: 1.06, loudness: 1, density: 1.1, register: 2 },
  { name: 'sad', words: ['sad', 'melancholic', 'melancholy', 'sorrowful', 'mournful', 'somber', 'sombre', 'gloomy', 'lonely', 'heartbroken', 'tearful', 'tragic', 'wistful'], mode: 'minor', tempo: 0.85, loudness: 0.85, density: 0.8, register: -2 },
  { name: 'dark', words: ['dark', 'ominous', 'sinister', 'eerie', 'scary', 'creepy', 'menacing', 'spooky', 'haunting', 'haunted', 'brooding', 'mysterious', 'tense', 'horror'], mode: 'minor', tempo: 0.92, loudness: 0.9, density: 0.85, register: -5 },
  { name: 'epic', words: ['epic', 'heroic', 'triumphant', 'grand', 'majestic', 'anthemic', 'glorious'], tempo: 1, loudness: 1.12, density: 1, register: 0 },
  { name: 'energetic', words: ['energetic', 'intense', 'driving', 'aggressive', 'powerful', 'fierce', 'exciting', 'lively', 'dynamic', 'party', 'hype'], tempo: 1.12, loudness: 1.12, density: 1.25, register: 2 },
  { name: 'romantic', words: ['romantic', 'dreamy', 'tender', 'warm', 'lush', 'love', 'nostalgic', 'sentimental'], tempo: 0.92, loudness: 0.85, density: 0.85, register: 0 }
]

/** Tempo words: a factor on the genre's tempo range (0 = its slowest, 1 = its fastest), or beyond. */
export const TEMPO_WORDS: Record<string, { at: number, label: string }> = {
  slow: { at: -0.35, label: 'slow' },
  slowly: { at: -0.35, label: 'slow' },
  leisurely: { at: -0.2, label: 'slow' },
  moderate: { at: 0.5, label: 'moderate' },
  medium: { at: 0.5, label: 'moderate' },
  midtempo: { at: 0.5, label: 'moderate' },
  upbeat: { at: 1.1, label: 'upbeat' },
  uptempo: { at: 1.1, label: 'upbeat' },
  fast: { at: 1.4, label: 'fast' },
  quick: { at: 1.4, label: 'fast' },
  rapid: { at: 1.6, label: 'fast' },
  frantic: { at: 1.9, label: 'fast' }
}

export interface Instrument {
  /** What the prompt says: one word, or two with a space ("electric piano"). */
  words: string[]
  program: number
  name: string
  /** Plays chords well (piano, guitar, strings, organ, pads); others carry melodies. */
  chordal: boolean
  /** A bass instrument takes the bass part. */
  bass?: boolean
}

export const INSTRUMENTS: Instrument[] = [
  { words: ['piano', 'keys'], program: 0, name: 'Acoustic Grand Piano', chordal: true },
  { words: ['grand piano'], program: 0, name: 'Acoustic Grand Piano', chordal: true },
  { words: ['electric piano', 'rhodes', 'epiano', 'wurlitzer'], program: 4, name: 'Electric Piano 1', chordal: true },
  { words: ['harpsichord'], program: 6, name: 'Harpsichord', chordal: true },
  { words: ['celesta'], program: 8, name: 'Celesta', chordal: false },
  { words: ['glockenspiel', 'bells', 'bell'], program: 9, name: 'Glockenspiel', chordal: false },
  { words: ['music box'], program: 10, name: 'Music Box', chordal: false },
  { words: ['vibraphone'], program: 11, name: 'Vibraphone', chordal: true },
  { words: ['marimba'], program: 12, name: 'Marimba', chordal: false },
  { words: ['xylophone'], program: 13, name: 'Xylophone', chordal: false },
  { words: ['organ', 'hammond'], program: 16, name: 'Drawbar Organ', chordal: true },
  { words: ['church organ', 'pipe organ'], program: 19, name: 'Church Organ', chordal: true },
  { words: ['accordion'], program: 21, name: 'Accordion', chordal: true },
  { words: ['harmonica'], program: 22, name: 'Harmonica', chordal: false },
  { words: ['nylon guitar', 'classical guitar', 'spanish guitar'], program: 24, name: 'Acoustic Guitar (nylon)', chordal: true },
  { words: ['guitar', 'guitars', 'acoustic guitar'], program: 25, name: 'Acoustic Guitar (steel)', chordal: true },
  { words: ['jazz guitar'], program: 26, name: 'Electric Guitar (jazz)', chordal: true },
  { words: ['electric guitar', 'clean guitar', 'lead guitar'], program: 27, name: 'Electric Guitar (clean)', chordal: true },
  { words: ['overdrive', 'overdriven guitar', 'crunchy guitar'], program: 29, name: 'Overdriven Guitar', chordal: true },
  { words: ['distortion', 'distorted guitar', 'heavy guitar'], program: 30, name: 'Distortion Guitar', chordal: true },
  { words: ['upright bass', 'double bass', 'acoustic bass', 'contrabass'], program: 32, name: 'Acoustic Bass', chordal: false, bass: true },
  { words: ['bass', 'electric bass', 'bass guitar', 'bassline'], program: 33, name: 'Electric Bass (finger)', chordal: false, bass: true },
  { words: ['fretless', 'fretless bass'], program: 35, name: 'Fretless Bass', chordal: false, bass: true },
  { words: ['synth bass', 'sub bass', '808'], program: 38, name: 'Synth Bass 1', chordal: false, bass: true },
  { words: ['violin', 'fiddle'], program: 40, name: 'Violin', chordal: false },
  { words: ['viola'], program: 41, name: 'Viola', chordal: false },
  { words: ['cello'], program: 42, name: 'Cello', chordal: false },
  { words: ['pizzicato'], program: 45, name: 'Pizzicato Strings', chordal: true },
  { words: ['harp'], program: 46, name: 'Orchestral Harp', chordal: true },
  { words: ['strings', 'string', 'orchestra', 'string ensemble'], program: 48, name: 'String Ensemble 1', chordal: true },
  { words: ['choir', 'voices', 'vocals', 'vocal'], program: 52, name: 'Choir Aahs', chordal: true },
  { words: ['trumpet'], program: 56, name: 'Trumpet', chordal: false },
  { words: ['trombone'], program: 57, name: 'Trombone', chordal: false },
  { words: ['tuba'], program: 58, name: 'Tuba', chordal: false, bass: true },
  { words: ['horn', 'horns', 'french horn'], program: 60, name: 'French Horn', chordal: false },
  { words: ['brass'], program: 61, name: 'Brass Section', chordal: true },
  { words: ['sax', 'saxophone', 'tenor sax'], program: 66, name: 'Tenor Sax', chordal: false },
  { words: ['alto sax'], program: 65, name: 'Alto Sax', chordal: false },
  { words: ['oboe'], program: 68, name: 'Oboe', chordal: false },
  { words: ['bassoon'], program: 70, name: 'Bassoon', chordal: false },
  { words: ['clarinet'], program: 71, name: 'Clarinet', chordal: false },
  { words: ['piccolo'], program: 72, name: 'Piccolo', chordal: false },
  { words: ['flute', 'flutes'], program: 73, name: 'Flute', chordal: false },
  { words: ['pan flute', 'panpipes'], program: 75, name: 'Pan Flute', chordal: false },
  { words: ['whistle', 'ocarina'], program: 79, name: 'Ocarina', chordal: false },
  { words: ['square lead', 'chiptune lead', '8 bit'], program: 80, name: 'Lead 1 (square)', chordal: false },
  { words: ['synth', 'synths', 'synthesizer', 'lead', 'synth lead'], program: 81, name: 'Lead 2 (sawtooth)', chordal: false },
  { words: ['pad', 'pads', 'synth pad'], program: 89, name: 'Pad 2 (warm)', chordal: true },
  { words: ['sitar'], program: 104, name: 'Sitar', chordal: false },
  { words: ['banjo'], program: 105, name: 'Banjo', chordal: true },
  { words: ['koto'], program: 107, name: 'Koto', chordal: false },
  { words: ['kalimba'], program: 108, name: 'Kalimba', chordal: false },
  { words: ['steel drums', 'steelpan'], program: 114, name: 'Steel Drums', chordal: false }
]

/** Words that switch the drum part on. */
export const DRUM_WORDS = ['drums', 'drum', 'beat', 'beats', 'percussion', 'drum machine', 'drumkit']
/** "no drums", "without bass": the next instrument word is excluded. */
export const NEGATIONS = ['no', 'without', 'minus']
export const DRUMLESS_WORDS = ['drumless', 'unplugged', 'solo']
/** Words that carry no musical choice; composition.json does not list them as not understood. */
export const FILLER_WORDS = new Set(['and', 'with', 'the', 'for', 'some', 'music', 'song', 'track', 'piece', 'tune', 'that', 'this', 'into',
  'very', 'feel', 'feeling', 'style', 'vibe', 'vibes', 'like', 'please', 'make', 'sound', 'sounds', 'key', 'background', 'instrumental',
  'mood', 'tempo', 'bpm', 'beats', 'playing', 'plays', 'played', 'over', 'under', 'from', 'little', 'bit', 'more', 'less', 'lots', 'kind', 'sort'])

// GM program names for the parts the genres choose (instrument names above cover the rest).
export const PROGRAM_NAMES: Record<number, string> = {
  0: 'Acoustic Grand Piano', 4: 'Electric Piano 1', 25: 'Acoustic Guitar (steel)', 26: 'Electric Guitar (jazz)', 27: 'Electric Guitar (clean)',
  29: 'Overdriven Guitar', 30: 'Distortion Guitar', 32: 'Acoustic Bass', 33: 'Electric Bass (finger)', 34: 'Electric Bass (pick)',
  38: 'Synth Bass 1', 39: 'Synth Bass 2', 40: 'Violin', 42: 'Cello', 43: 'Contrabass', 48: 'String Ensemble 1', 52: 'Choir Aahs',
  60: 'French Horn', 61: 'Brass Section', 66: 'Tenor Sax', 73: 'Flute', 81: 'Lead 2 (sawtooth)', 88: 'Pad 1 (new age)',
  89: 'Pad 2 (warm)', 90: 'Pad 3 (polysynth)', 91: 'Pad 4 (choir)', 95: 'Pad 8 (sweep)'
}

export function programName (program: number): string {
  return INSTRUMENTS.find((instrument) => instrument.program === program)?.name ?? PROGRAM_NAMES[program] ?? `GM program ${program + 1}`
}
