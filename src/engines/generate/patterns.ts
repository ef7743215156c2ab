import type { BassStyle, CompStyle, DrumStyle } from './vocabulary.ts'

/**
 * The rhythms the composer (composer.ts) plays, written out: drum grids, bass figures, chord
 * rhythms and melody rhythms, all on the grid of 16 sixteenth-note steps a bar. Data only.
 */

// General MIDI percussion keys (channel 10).
export const KICK = 36
export const STICK = 37
export const SNARE = 38
export const CLAP = 39
const HAT = 42
const PEDAL_HAT = 44
const OPEN_HAT = 46
export const CRASH = 49
const RIDE = 51
const TAMBOURINE = 54
const SHAKER = 70
export const TOM_LOW = 45
export const TOM_MID = 47

// Drum grids: X accent, x normal, o soft. Every style puts a strong hit on each quarter note
// (kick or snare), so the beat the listener taps is the loudest periodicity, and a tempo
// tracker finds the written tempo rather than twice or half of it.
export type Grid = Partial<Record<number, string>>
export const GRIDS: Record<DrumStyle, Grid[]> = {
  backbeat: [
    { [KICK]: 'X.......X.x.....', [SNARE]: '....X.......X...', [HAT]: 'x.o.x.o.x.o.x.o.' },
    { [KICK]: 'X.....x.X.......', [SNARE]: '....X.......X...', [HAT]: 'x.o.x.o.x.o.x.o.' }
  ],
  rock: [
    { [KICK]: 'X.......X.X.....', [SNARE]: '....X.......X...', [HAT]: 'x.x.x.x.x.x.x.x.' },
    { [KICK]: 'X.x.....X.x.....', [SNARE]: '....X.......X...', [RIDE]: 'x.x.x.x.x.x.x.x.' }
  ],
  'four-on-floor': [
    { [KICK]: 'X...X...X...X...', [CLAP]: '....x.......x...', [OPEN_HAT]: '..o...o...o...o.' },
    { [KICK]: 'X...X...X...X...', [CLAP]: '....x.......x...', [OPEN_HAT]: '..o...o...o...o.', [SHAKER]: 'oooooooooooooooo' }
  ],
  techno: [
    { [KICK]: 'X...X...X...X...', [HAT]: '..x...x...x...x.', [CLAP]: '....o.......o...' },
    { [KICK]: 'X...X...X...X...', [HAT]: '..x...x...x...x.', [RIDE]: 'o.o.o.o.o.o.o.o.' }
  ],
  'boom-bap': [
    { [KICK]: 'X.....x.X.......', [SNARE]: '....X.......X...', [HAT]: 'x.x.x.x.x.x.x.x.' },
    { [KICK]: 'X.......X..x....', [SNARE]: '....X.......X...', [HAT]: 'x.x.x.x.x.x.x.x.' }
  ],
  lofi: [
    { [KICK]: 'X.......X.....x.', [SNARE]: '....X.......X...', [HAT]: 'x.o.x.o.x.o.x.o.' },
    { [KICK]: 'X......oX.......', [STICK]: '....X.......X...', [HAT]: 'x.o.x.o.x.o.x.o.' }
  ],
  'jazz-ride': [
    { [RIDE]: 'x...x.o.x...x.o.', [PEDAL_HAT]: '....x.......x...', [KICK]: 'o...o...o...o...' }
  ],
  shuffle: [
    { [KICK]: 'X.......X.......', [SNARE]: '....X.......X...', [HAT]: 'x.o.x.o.x.o.x.o.' }
  ],
  folk: [
    { [KICK]: 'X.......X.......', [STICK]: '....x.......x...', [TAMBOURINE]: 'o.o.o.o.o.o.o.o.' },
    { [KICK]: 'X.......X.......', [STICK]: '....x.......x...', [SHAKER]: 'o.o.o.o.o.o.o.o.' }
  ],
  funk: [
    { [KICK]: 'X.x.....X.x.....', [SNARE]: '....X..o.o..X...', [HAT]: 'xoxoxoxoxoxoxoxo' }
  ]
}
export const HIT: Record<string, number> = { X: 112, x: 92, o: 58 }
// The last beat of a section before the next one: a snare (and tom) run into the change.
export const FILL: Grid = { [SNARE]: '............o.xX', [TOM_MID]: '.............x..', [TOM_LOW]: '...............x' }

// Bass figures: [step, length in steps, R root | F fifth | O octave | 3 the chord's third | A a
// scale step leading into the next bar's root].
export const BASS: Record<BassStyle, [number, number, string][]> = {
  'root-fifth': [[0, 6, 'R'], [6, 2, 'R'], [8, 4, 'F'], [12, 4, 'R']],
  eighths: [[0, 2, 'R'], [2, 2, 'R'], [4, 2, 'R'], [6, 2, 'R'], [8, 2, 'R'], [10, 2, 'R'], [12, 2, 'R'], [14, 2, 'F']],
  walking: [[0, 4, 'R'], [4, 4, '3'], [8, 4, 'F'], [12, 4, 'A']],
  offbeat: [[2, 2, 'R'], [6, 2, 'O'], [10, 2, 'R'], [14, 2, 'O']],
  syncopated: [[0, 6, 'R'], [6, 3, 'R'], [10, 4, 'F'], [14, 2, 'O']],
  sustained: [[0, 16, 'R']],
  'boom-chick': [[0, 4, 'R'], [8, 4, 'F']],
  funk: [[0, 3, 'R'], [3, 1, 'O'], [6, 2, 'R'], [8, 2, 'F'], [10, 2, 'O'], [14, 2, 'R']]
}

// Chord rhythms: [step, length in steps, velocity factor].
export const COMP: Record<Exclude<CompStyle, 'arpeggio'>, [number, number, number][]> = {
  sustain: [[0, 16, 0.9]],
  quarters: [[0, 4, 1], [4, 4, 0.8], [8, 4, 0.9], [12, 4, 0.8]],
  syncopated: [[0, 6, 1], [6, 6, 0.85], [12, 4, 0.8]],
  charleston: [[0, 3, 1], [6, 4, 0.85]],
  lofi: [[0, 14, 0.95], [14, 2, 0.6]],
  strum: [[0, 4, 1], [4, 2, 0.85], [6, 2, 0.7], [10, 2, 0.7], [12, 2, 0.85], [14, 2, 0.7]],
  power: [[0, 2, 1], [2, 2, 0.8], [4, 2, 0.9], [6, 2, 0.8], [8, 2, 1], [10, 2, 0.8], [12, 2, 0.9], [14, 2, 0.8]],
  stabs: [[0, 2, 1], [6, 2, 0.85], [10, 2, 0.9]],
  offbeat: [[2, 2, 0.9], [6, 2, 0.9], [10, 2, 0.9], [14, 2, 0.9]]
}
// Alberti-style broken chords: indexes into the voicing, one an eighth note.
export const ARPEGGIO = [0, 2, 1, 2, 0, 2, 1, 2]

// Melody rhythms, one bar each (steps; negative is a rest), by how busy the tune is.
export const RHYTHMS = {
  sparse: [[8, 8], [12, 4], [-4, 4, 8], [16], [6, 2, 8]],
  medium: [[4, 4, 4, 4], [6, 2, 4, 4], [4, 4, 8], [-4, 4, 4, 4], [4, 2, 2, 8], [8, 4, 4]],
  busy: [[2, 2, 4, 2, 2, 4], [4, 2, 2, 4, 2, 2], [2, 2, 2, 2, 4, 4], [3, 3, 2, 4, 4], [-2, 2, 2, 2, 4, 4]]
}
export const CADENCES = [[8, 8], [4, 4, 8], [12, -4], [16]]
