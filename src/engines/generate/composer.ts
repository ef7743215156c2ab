import type { PartName, PartPlan, Plan, Section } from './plan.ts'
import { BEATS_PER_BAR } from './plan.ts'
import { randomFor, type Random } from './random.ts'
import { chordOf, chordPitchClasses, notesIn, scaleOver, SCALES, type Chord, type Key } from './theory.ts'
import { ARPEGGIO, BASS, CADENCES, CLAP, COMP, CRASH, FILL, GRIDS, HIT, KICK, RHYTHMS, SNARE, STICK, TOM_LOW, TOM_MID, type Grid } from './patterns.ts'
import type { BassStyle, CompStyle, DrumStyle } from './vocabulary.ts'

/**
 * The notes of a planned piece (plan.ts made every choice; this plays them). Pure: the same
 * plan gives the same notes. Time is in MIDI ticks, 480 a beat, 4/4 throughout; each part's
 * rhythms are written on a grid of 16 sixteenth-note steps a bar (patterns.ts).
 */

export const TICKS_PER_BEAT = 480
const STEP = TICKS_PER_BEAT / 4
const BAR = STEP * 16

export interface Note {
  tick: number
  duration: number
  pitch: number
  velocity: number
}

export interface Track {
  part: PartPlan
  notes: Note[]
}

export interface Composition {
  plan: Plan
  ticksPerBeat: number
  /** The piece's end, exactly durationSec at the plan's tempo. */
  endTick: number
  /** The chord of each bar, the last one the tonic. */
  chords: Chord[]
  tracks: Track[]
}

// Instruments that sound best an octave below the usual melody register.
const LOW_MELODY = new Set([32, 33, 42, 43, 57, 58, 70])

const clampVelocity = (v: number) => Math.max(1, Math.min(127, Math.round(v)))

/** A tick on the straight grid moved by the swing: off-beat eighths late, sixteenths in proportion. */
export function swingTick (tick: number, swing: number): number {
  if (swing === 0.5) return tick
  const beat = Math.floor(tick / TICKS_PER_BEAT) * TICKS_PER_BEAT
  const within = tick - beat
  const half = TICKS_PER_BEAT / 2
  const moved = within <= half
    ? within * (swing * TICKS_PER_BEAT) / half
    : swing * TICKS_PER_BEAT + (within - half) * ((1 - swing) * TICKS_PER_BEAT) / half
  return beat + Math.round(moved)
}

/** The close voicing of `chord` in [low, high] nearest to the previous one (smallest total movement). */
export function voiceChord (chord: Chord, previous: number[] | undefined, low = 52, high = 72): number[] {
  const classes = chordPitchClasses(chord)
  let best: number[] = []
  let bestCost = Infinity
  let lowest: number[] = []
  for (let inversion = 0; inversion < classes.length; inversion++) {
    const order = [...classes.slice(inversion), ...classes.slice(0, inversion)]
    let note = low + ((order[0]! - low) % 12 + 12) % 12
    const notes = [note]
    for (const pc of order.slice(1)) {
      note += ((pc - note) % 12 + 12) % 12 || 12
      notes.push(note)
    }
    if (lowest.length === 0 || notes.at(-1)! < lowest.at(-1)!) lowest = notes
    if (notes.at(-1)! > high) continue
    const cost = previous
      ? notes.reduce((sum, n) => sum + Math.min(...previous.map((p) => Math.abs(p - n))), 0)
      : Math.abs(notes.reduce((a, b) => a + b, 0) / notes.length - 62)
    if (cost < bestCost) { best = notes; bestCost = cost }
  }
  // A narrow range no inversion fits: the one that reaches least high.
  return best.length > 0 ? best : lowest
}

interface Context {
  plan: Plan
  key: Key
  chords: Chord[]
  endTick: number
  swing: number
  loudness: number
  sectionOf: (bar: number) => Section
  isFinal: (bar: number) => boolean
}

/** Adds a note at straight-grid ticks, swung, cut at the piece's end. */
function place (notes: Note[], ctx: Context, start: number, end: number, pitch: number, velocity: number): void {
  const tick = swingTick(start, ctx.swing)
  const off = Math.min(ctx.endTick, swingTick(end, ctx.swing))
  if (off <= tick || tick >= ctx.endTick) return
  notes.push({ tick, duration: off - tick, pitch, velocity: clampVelocity(velocity * ctx.loudness) })
}

const barStart = (bar: number) => bar * BAR

function drumsTrack (ctx: Context, style: DrumStyle, random: Random): Note[] {
  const notes: Note[] = []
  const grids = GRIDS[style]
  const gridFor = new Map<string, Grid>()
  for (let bar = 0; bar < ctx.plan.bars; bar++) {
    const section = ctx.sectionOf(bar)
    const start = barStart(bar)
    if (ctx.isFinal(bar)) {
      notes.push({ tick: start, duration: STEP, pitch: CRASH, velocity: clampVelocity(110 * ctx.loudness) })
      notes.push({ tick: start, duration: STEP, pitch: KICK, velocity: clampVelocity(110 * ctx.loudness) })
      continue
    }
    if (!gridFor.has(section.name)) gridFor.set(section.name, section.name === 'verse' || section.name === 'intro' ? grids[0]! : random.pick(grids))
    const grid = { ...gridFor.get(section.name)! }
    // The intro keeps the pulse but holds the backbeat back.
    if (section.name === 'intro') { delete grid[SNARE]; delete grid[CLAP]; delete grid[STICK] }
    const lastOfSection = bar === section.startBar + section.bars - 1 && section.bars >= 4 && !ctx.isFinal(bar + 1)
    if (lastOfSection) for (const [drum, pattern] of Object.entries(FILL)) grid[Number(drum)] = mergeGrid(grid[Number(drum)], pattern!)
    if (bar === section.startBar && (section.name === 'chorus' || section.name === 'bridge')) {
      notes.push({ tick: start, duration: STEP, pitch: CRASH, velocity: clampVelocity(100 * ctx.loudness) })
    }
    for (const [drum, pattern] of Object.entries(grid)) {
      for (let step = 0; step < 16; step++) {
        const hit = HIT[pattern![step]!]
        if (!hit) continue
        // A fill replaces the last beat's hats and cymbals.
        if (lastOfSection && step >= 12 && ![SNARE, TOM_MID, TOM_LOW, KICK].includes(Number(drum))) continue
        place(notes, ctx, start + step * STEP, start + (step + 1) * STEP, Number(drum), hit + random.int(-6, 6))
      }
    }
  }
  return notes
}

function mergeGrid (base: string | undefined, fill: string): string {
  const out = [...(base ?? '.'.repeat(16))]
  for (let i = 12; i < 16; i++) out[i] = fill[i] === '.' ? '.' : fill[i]!
  return out.join('')
}

/** The bass register: roots from G1 to F#2, so fifths and octaves stay clear of the chords. */
const bassRoot = (pc: number) => 31 + ((pc - 7) % 12 + 12) % 12

function bassTrack (ctx: Context, style: BassStyle, random: Random): Note[] {
  const notes: Note[] = []
  const scale = SCALES[ctx.key.mode].map((s) => (ctx.key.tonic + s) % 12)
  for (let bar = 0; bar < ctx.plan.bars; bar++) {
    const chord = ctx.chords[bar]!
    const root = bassRoot(chord.root)
    const start = barStart(bar)
    if (ctx.isFinal(bar)) { place(notes, ctx, start, ctx.endTick, root, 96); continue }
    const nextRoot = bassRoot(ctx.chords[bar + 1]?.root ?? chord.root)
    for (const [step, length, what] of BASS[style]) {
      let pitch = root
      if (what === 'F') pitch = root + 7
      else if (what === 'O') pitch = root + 12
      else if (what === '3') pitch = root + chord.intervals[1]!
      else if (what === 'A') {
        // The scale note next to the coming root, on the side we come from.
        const candidates = notesIn(scale, nextRoot - 3, nextRoot + 3).filter((n) => n !== nextRoot)
        pitch = candidates.reduce((best, n) => Math.abs(n - root - 5) < Math.abs(best - root - 5) ? n : best, candidates[0] ?? root)
      }
      const accent = step === 0 ? 100 : 88
      place(notes, ctx, start + step * STEP, start + (step + length) * STEP - 10, pitch, accent + random.int(-5, 5))
    }
  }
  return notes
}

function chordsTrack (ctx: Context, style: CompStyle, random: Random, part: PartName): Note[] {
  const notes: Note[] = []
  let previous: number[] | undefined
  const power = style === 'power'
  for (let bar = 0; bar < ctx.plan.bars; bar++) {
    const chord = ctx.chords[bar]!
    const start = barStart(bar)
    const voicing = power
      ? [40 + ((chord.root - 4) % 12 + 12) % 12].flatMap((r) => [r, r + 7, r + 12])
      : voiceChord(chord, previous, part === 'pad' ? 60 : 52, part === 'pad' ? 82 : 72)
    previous = voicing
    const base = part === 'pad' ? 58 : 76
    if (ctx.isFinal(bar)) {
      for (const pitch of voicing) place(notes, ctx, start, ctx.endTick, pitch, base)
      continue
    }
    if (part === 'pad') {
      for (const pitch of voicing) place(notes, ctx, start, start + BAR, pitch, base + random.int(-3, 3))
      continue
    }
    if (style === 'arpeggio') {
      const order = voicing.length > 3 ? [0, 2, 1, 3, 0, 2, 1, 3] : ARPEGGIO
      order.forEach((index, i) => {
        place(notes, ctx, start + i * 2 * STEP, start + (i + 1) * 2 * STEP, voicing[index]!, base * (i % 4 === 0 ? 1 : 0.85) + random.int(-4, 4))
      })
      continue
    }
    // Strummed styles spread the notes of a chord by a few milliseconds, low to high.
    const spread = style === 'lofi' || style === 'strum' ? 12 : 0
    for (const [step, length, factor] of COMP[style]) {
      voicing.forEach((pitch, i) => {
        place(notes, ctx, start + step * STEP + i * spread, start + (step + length) * STEP - 15, pitch, base * factor + random.int(-4, 4))
      })
    }
  }
  return notes
}

interface MelodyNote { step: number, length: number, pitch: number }

/** One section's tune: a two-bar rhythm motif, a phrase of four bars sung twice, each phrase ending on a chord tone. */
function sectionMelody (ctx: Context, section: Section, range: [number, number], density: number): MelodyNote[][] {
  const random = randomFor(ctx.plan.seed, `melody-${section.name}`)
  const pool = density < 0.75 ? RHYTHMS.sparse : density < 1.3 ? RHYTHMS.medium : RHYTHMS.busy
  const motif = [random.pick(pool), random.pick(pool)]
  const cadence = random.pick(CADENCES)
  const [low, high] = range
  const bars: MelodyNote[][] = []
  let previous = Math.round((low + high) / 2) - 2
  for (let k = 0; k < section.bars; k++) {
    const bar = section.startBar + k
    const chord = ctx.chords[bar]!
    const chordNotes = notesIn(chordPitchClasses(chord), low, high)
    const scaleNotes = notesIn(scaleOver(chord, ctx.key), low, high)
    const nearest = (target: number, pool: number[]) => pool.reduce((best, n) => Math.abs(n - target) < Math.abs(best - target) ? n : best, pool[0]!)
    const phraseEnd = k % 4 === 3 || k === section.bars - 1
    // The second phrase repeats the first, fitted to its own chords.
    if (k >= 4 && !phraseEnd && bars[k - 4]) {
      bars.push(bars[k - 4]!.map((note) => ({ ...note, pitch: nearest(note.pitch, note.step % 8 === 0 ? chordNotes : scaleNotes) })))
      previous = bars[k]!.at(-1)?.pitch ?? previous
      continue
    }
    const rhythm = phraseEnd ? cadence : motif[k % 2]!
    const notes: MelodyNote[] = []
    let step = 0
    const direction = k % 4 < 2 ? 1 : -1
    rhythm.forEach((length, i) => {
      const span = Math.abs(length)
      if (length > 0) {
        const last = phraseEnd && i === rhythm.length - 1 - (rhythm.at(-1)! < 0 ? 1 : 0)
        let pitch: number
        if (last) {
          const resting = notesIn([chord.root, (chord.root + chord.intervals[1]!) % 12], low, high)
          pitch = nearest(previous, resting)
        } else {
          const strong = step % 8 === 0 || span >= 8
          const flip = random.chance(0.25) ? -1 : 1
          let target = previous + direction * flip * random.pick([1, 2, 2, 3, 4, 5])
          if (target > high - 2) target = previous - 3
          if (target < low + 2) target = previous + 3
          pitch = nearest(target, strong ? chordNotes : scaleNotes)
        }
        notes.push({ step, length: span, pitch })
        previous = pitch
      }
      step += span
    })
    bars.push(notes)
  }
  return bars
}

function melodyTrack (ctx: Context, part: PartPlan, random: Random): Note[] {
  const notes: Note[] = []
  const mood = ctx.plan.mood
  const density = ctx.plan.genre.density * (mood?.density ?? 1)
  const shift = (mood?.register ?? 0) + (LOW_MELODY.has(part.program) ? -12 : 0)
  let previous = 67 + shift
  for (const section of ctx.plan.form) {
    if (section.name === 'intro') continue
    const lift = section.name === 'chorus' ? 3 : 0
    const range: [number, number] = [60 + shift + lift, 81 + shift + lift]
    const bars = section.name === 'outro' ? undefined : sectionMelody(ctx, section, range, section.name === 'chorus' ? density * 1.2 : density)
    for (let k = 0; k < section.bars; k++) {
      const bar = section.startBar + k
      const start = barStart(bar)
      const chord = ctx.chords[bar]!
      if (ctx.isFinal(bar)) {
        const tonic = notesIn([ctx.key.tonic], range[0], range[1])
        const pitch = tonic.reduce((best, n) => Math.abs(n - previous) < Math.abs(best - previous) ? n : best, tonic[0]!)
        place(notes, ctx, start, ctx.endTick, pitch, 86)
        continue
      }
      if (!bars) {
        // The outro sings one long chord tone a bar, falling towards the end.
        const tones = notesIn(chordPitchClasses(chord), range[0], range[1]).filter((n) => n <= previous)
        const pitch = tones.at(-1) ?? notesIn(chordPitchClasses(chord), range[0], range[1])[0]!
        place(notes, ctx, start, start + BAR - 20, pitch, 78)
        previous = pitch
        continue
      }
      for (const note of bars[k]!) {
        const accent = note.step === 0 ? 96 : note.step % 4 === 0 ? 88 : 80
        const gap = note.length >= 8 ? 10 : 30
        place(notes, ctx, start + note.step * STEP, start + (note.step + note.length) * STEP - gap, note.pitch, accent + random.int(-6, 6))
        previous = note.pitch
      }
    }
  }
  return notes
}

/** Plays the plan: every part's notes, the chord of every bar. */
export function compose (plan: Plan): Composition {
  const endTick = Math.round(((plan.durationSec * plan.bpm) / 60) * TICKS_PER_BEAT)
  const tonicChord = chordOf(plan.key.mode === 'major' ? 'I' : 'i', plan.key)
  const chords: Chord[] = []
  for (const section of plan.form) {
    for (let k = 0; k < section.bars; k++) chords.push(chordOf(section.progression[k % section.progression.length]!, plan.key))
  }
  chords[plan.bars - 1] = tonicChord
  const sectionByBar = plan.form.flatMap((section) => Array.from({ length: section.bars }, () => section))
  const ctx: Context = {
    plan,
    key: plan.key,
    chords,
    endTick,
    swing: plan.genre.swing,
    loudness: plan.mood?.loudness ?? 1,
    sectionOf: (bar) => sectionByBar[bar]!,
    isFinal: (bar) => bar === plan.bars - 1
  }
  const tracks: Track[] = plan.parts.map((part) => {
    const random = randomFor(plan.seed, part.part)
    switch (part.part) {
      case 'drums': return { part, notes: drumsTrack(ctx, plan.drums!, random) }
      case 'bass': return { part, notes: bassTrack(ctx, plan.genre.bass, random) }
      case 'chords': return { part, notes: chordsTrack(ctx, plan.genre.comp, random, 'chords') }
      case 'pad': return { part, notes: chordsTrack(ctx, 'sustain', random, 'pad') }
      case 'melody': return { part, notes: melodyTrack(ctx, part, random) }
    }
  })
  return { plan, ticksPerBeat: TICKS_PER_BEAT, endTick, chords, tracks }
}

export const barsToSeconds = (bars: number, bpm: number) => (bars * BEATS_PER_BAR * 60) / bpm
