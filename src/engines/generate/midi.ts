import { writeMidi, type MidiData, type MidiEvent } from 'midi-file'
import type { Composition, Note } from './composer.ts'
import type { PartName } from './plan.ts'
import { keySignature, keyName } from './theory.ts'

// The mix: channel volume (CC 7) and pan (CC 10, 64 centre) of each part.
const MIX: Record<PartName, { volume: number, pan: number, reverb: number }> = {
  melody: { volume: 100, pan: 64, reverb: 1 },
  chords: { volume: 86, pan: 46, reverb: 1 },
  pad: { volume: 70, pan: 82, reverb: 1 },
  bass: { volume: 100, pan: 64, reverb: 0.4 },
  drums: { volume: 100, pan: 64, reverb: 0.5 }
}
const VOLUME = 7
const PAN = 10
const REVERB = 91
const CHORUS = 93

// Omit over each member of the union, not over the union (which keeps only common keys).
type Untimed = MidiEvent extends infer E ? E extends MidiEvent ? Omit<E, 'deltaTime'> : never : never
interface Timed { tick: number, order: number, pitch: number, event: Untimed }

/**
 * A note that starts while the same key still sounds on its channel ends there: MIDI has one
 * note per key and channel, and an off that came after the new on would silence the new one.
 */
function withoutOverlaps (notes: Note[]): Note[] {
  const sorted = [...notes].sort((a, b) => a.tick - b.tick || a.pitch - b.pitch)
  const sounding = new Map<number, Note>()
  const out: Note[] = []
  for (const note of sorted) {
    const open = sounding.get(note.pitch)
    if (open && open.tick + open.duration > note.tick) open.duration = note.tick - open.tick
    const copy = { ...note }
    sounding.set(note.pitch, copy)
    out.push(copy)
  }
  return out.filter((note) => note.duration > 0)
}

/** Absolute-time events to a track of delta times, in a stable order: at one tick, settings, then offs, then ons. */
function toTrack (events: Timed[], endTick: number): MidiEvent[] {
  events.sort((a, b) => a.tick - b.tick || a.order - b.order || a.pitch - b.pitch)
  const track: MidiEvent[] = []
  let now = 0
  for (const { tick, event } of events) {
    track.push({ ...event, deltaTime: tick - now } as MidiEvent)
    now = tick
  }
  track.push({ deltaTime: Math.max(0, endTick - now), meta: true, type: 'endOfTrack' })
  return track
}

/**
 * The composition as a Standard MIDI File, format 1: a conductor track (tempo, time and key
 * signatures, a marker per section) and one track per part, each with its program change and
 * mix settings. Deterministic: the same composition gives the same bytes.
 */
export function toMidi (composition: Composition): Uint8Array {
  const { plan, endTick, ticksPerBeat } = composition
  const conductor: Timed[] = [
    { tick: 0, order: 0, pitch: 0, event: { meta: true, type: 'trackName', text: 'Tympan procedural composition' } },
    { tick: 0, order: 0, pitch: 1, event: { meta: true, type: 'text', text: `${plan.genre.name}, ${keyName(plan.key)}, ${plan.bpm} BPM, seed ${plan.seed}` } },
    { tick: 0, order: 0, pitch: 2, event: { meta: true, type: 'timeSignature', numerator: 4, denominator: 4, metronome: 24, thirtyseconds: 8 } },
    { tick: 0, order: 0, pitch: 3, event: { meta: true, type: 'keySignature', key: keySignature(plan.key), scale: plan.key.mode === 'minor' ? 1 : 0 } },
    { tick: 0, order: 0, pitch: 4, event: { meta: true, type: 'setTempo', microsecondsPerBeat: Math.round(60_000_000 / plan.bpm) } },
    ...plan.form.map((section) => ({ tick: section.startBar * 4 * ticksPerBeat, order: 1, pitch: 0, event: { meta: true as const, type: 'marker' as const, text: section.name } }))
  ]
  const tracks = composition.tracks.map(({ part, notes }) => {
    const channel = part.channel
    const mix = MIX[part.part]
    const events: Timed[] = [
      { tick: 0, order: 0, pitch: 0, event: { meta: true, type: 'trackName', text: `${part.part}: ${part.instrument}` } },
      { tick: 0, order: 0, pitch: 1, event: { type: 'programChange', channel, programNumber: part.program } },
      { tick: 0, order: 0, pitch: 2, event: { type: 'controller', channel, controllerType: VOLUME, value: mix.volume } },
      { tick: 0, order: 0, pitch: 3, event: { type: 'controller', channel, controllerType: PAN, value: mix.pan } },
      { tick: 0, order: 0, pitch: 4, event: { type: 'controller', channel, controllerType: REVERB, value: Math.round(plan.genre.reverb * mix.reverb) } },
      { tick: 0, order: 0, pitch: 5, event: { type: 'controller', channel, controllerType: CHORUS, value: part.part === 'pad' || part.part === 'chords' ? 30 : 0 } }
    ]
    for (const note of withoutOverlaps(notes)) {
      events.push({ tick: note.tick, order: 2, pitch: note.pitch, event: { type: 'noteOn', channel, noteNumber: note.pitch, velocity: note.velocity } })
      events.push({ tick: note.tick + note.duration, order: 1, pitch: note.pitch, event: { type: 'noteOff', channel, noteNumber: note.pitch, velocity: 0 } })
    }
    return toTrack(events, endTick)
  })
  const data: MidiData = {
    header: { format: 1, numTracks: tracks.length + 1, ticksPerBeat },
    tracks: [toTrack(conductor, endTick), ...tracks]
  }
  return Uint8Array.from(writeMidi(data))
}
