import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseMidi, type MidiData } from 'midi-file'
import { compose, swingTick, voiceChord } from './composer.ts'
import { toMidi } from './midi.ts'
import { formFor, planPiece, type GenerateRequest } from './plan.ts'
import { chordOf } from './theory.ts'

const midiOf = (request: GenerateRequest) => toMidi(compose(planPiece(request)))

interface Played { channel: number, pitch: number, tick: number, off: number }

/** Notes back from the file, with absolute ticks; fails on a key struck again while it sounds. */
function notesOf (midi: MidiData): Played[] {
  const played: Played[] = []
  for (const track of midi.tracks) {
    let tick = 0
    const open = new Map<string, number>()
    for (const event of track) {
      tick += event.deltaTime
      if (event.type !== 'noteOn' && event.type !== 'noteOff') continue
      const id = `${event.channel}:${event.noteNumber}`
      if (event.type === 'noteOn' && event.velocity > 0) {
        assert.ok(!open.has(id), `note ${id} struck again at ${tick} while it sounds`)
        open.set(id, tick)
      } else {
        played.push({ channel: event.channel, pitch: event.noteNumber, tick: open.get(id)!, off: tick })
        open.delete(id)
      }
    }
    assert.equal(open.size, 0, 'every note ends')
  }
  return played
}

const programs = (midi: MidiData) => new Map(midi.tracks.flatMap((t) => t.flatMap((e) => e.type === 'programChange' ? [[e.channel, e.programNumber] as const] : [])))

/** The pitch classes above the tonic that the pitched parts play. */
function intervalsAboveTonic (request: GenerateRequest): Set<number> {
  const plan = planPiece(request)
  const notes = notesOf(parseMidi(toMidi(compose(plan)))).filter((n) => n.channel !== 9)
  return new Set(notes.map((n) => ((n.pitch - plan.key.tonic) % 12 + 12) % 12))
}

describe('the composer', () => {
  it('gives the same MIDI bytes for the same prompt and seed, other bytes for another seed', () => {
    const request = { prompt: 'calm lofi piano, 80 bpm', durationSec: 20, seed: 42 }
    assert.deepEqual(midiOf(request), midiOf({ ...request }))
    assert.notDeepEqual(midiOf(request), midiOf({ ...request, seed: 43 }))
    // Without a seed, the prompt's own hash, insensitive to case and spacing.
    assert.equal(planPiece({ prompt: 'Calm  lofi piano', durationSec: 5 }).seed, planPiece({ prompt: 'calm lofi piano', durationSec: 5 }).seed)
    assert.deepEqual(midiOf({ prompt: 'calm lofi piano', durationSec: 5 }), midiOf({ prompt: 'calm lofi\tpiano', durationSec: 5 }))
  })

  it('writes format 1 with a tempo, 4/4, the key, and a program change on every part\'s channel', () => {
    const plan = planPiece({ prompt: 'happy pop in G major, 120 bpm', durationSec: 12, seed: 1 })
    const midi = parseMidi(toMidi(compose(plan)))
    assert.equal(midi.header.format, 1)
    assert.equal(midi.header.ticksPerBeat, 480)
    assert.equal(midi.header.numTracks, plan.parts.length + 1)
    const meta = midi.tracks[0]!
    assert.deepEqual(meta.find((e) => e.type === 'setTempo'), { deltaTime: 0, meta: true, type: 'setTempo', microsecondsPerBeat: 500_000 })
    assert.ok(meta.some((e) => e.type === 'timeSignature' && e.numerator === 4 && e.denominator === 4))
    assert.ok(meta.some((e) => e.type === 'keySignature' && e.key === 1 && e.scale === 0))
    assert.deepEqual([...programs(midi).keys()].sort(), plan.parts.map((p) => p.channel).sort())
  })

  it('lasts exactly the duration: every track ends there and no note outlives it', () => {
    for (const [durationSec, bpm] of [[1, 40], [8.5, 97], [30, 128], [300, 240]] as const) {
      const composition = compose(planPiece({ prompt: 'rock', durationSec, tempo: bpm, seed: 3 }))
      const end = Math.round((durationSec * bpm / 60) * 480)
      assert.equal(composition.endTick, end)
      const midi = parseMidi(toMidi(composition))
      for (const track of midi.tracks) assert.equal(track.reduce((t, e) => t + e.deltaTime, 0), end)
      const notes = notesOf(midi)
      assert.ok(notes.length > 0)
      assert.ok(notes.every((n) => n.off <= end && n.off > n.tick))
      // The last chord sounds to the very end.
      assert.ok(notes.some((n) => n.channel === 1 && n.off === end))
    }
  })

  it('lets the tempo and key params override the prompt', () => {
    const plan = planPiece({ prompt: 'jazz in C major at 80 bpm', durationSec: 10, tempo: 97, key: 'E minor' })
    assert.equal(plan.bpm, 97)
    assert.equal(plan.tempoFrom, 'the tempo parameter')
    assert.deepEqual(plan.key, { tonic: 4, mode: 'minor' })
    const fromPrompt = planPiece({ prompt: 'jazz in C major at 80 bpm', durationSec: 10 })
    assert.equal(fromPrompt.bpm, 80)
    assert.deepEqual(fromPrompt.key, { tonic: 0, mode: 'major' })
    assert.equal(fromPrompt.keyFrom, '"C major" in the prompt')
  })

  it('composes "sad" and "dark" in minor and "happy" in major, in the notes themselves', () => {
    for (const prompt of ['sad piano ballad', 'dark ambient drone', 'sad lofi', 'dark techno with strings']) {
      for (const seed of [1, 2, 3]) {
        const plan = planPiece({ prompt, durationSec: 30, seed })
        assert.equal(plan.key.mode, 'minor', prompt)
        const intervals = intervalsAboveTonic({ prompt, durationSec: 30, seed })
        assert.ok(intervals.has(3), `${prompt}: the minor third is played`)
        assert.ok(!intervals.has(4), `${prompt}: the major third never is`)
      }
    }
    for (const seed of [1, 2, 3]) {
      const intervals = intervalsAboveTonic({ prompt: 'happy pop', durationSec: 30, seed })
      assert.ok(intervals.has(4) && !intervals.has(3), `happy pop, seed ${seed}`)
    }
  })

  it('plays the instruments the prompt names, each genre\'s own otherwise', () => {
    const of = (prompt: string) => programs(parseMidi(midiOf({ prompt, durationSec: 8, seed: 1 })))
    // melody 0, chords 1, pad 2, bass 3, drums 9.
    assert.deepEqual(Object.fromEntries(of('calm flute with strings')), { 0: 73, 1: 48, 2: 89, 3: 33, 9: 0 })
    assert.equal(of('rock guitar').get(1), 30)
    assert.equal(of('folk guitar').get(1), 25)
    assert.deepEqual([of('jazz saxophone').get(0), of('jazz').get(3)], [66, 32])
    assert.deepEqual([of('lofi piano').get(0), of('lofi piano').get(1)], [0, 0])
    assert.equal(of('piano trumpet cello').get(2), 42)
    assert.equal(of('house synth bass').get(3), 38)
    assert.ok(!of('rock, no drums').has(9))
    assert.ok(!of('pop without bass').has(3))
    assert.ok(!of('ambient').has(9))
    assert.equal(of('ambient with drums').get(9), 0)
    assert.equal(of('lofi, no electric piano').get(1), 0)
  })

  it('says why it chose what it did', () => {
    const plan = planPiece({ prompt: 'calm lofi piano, 80 bpm', durationSec: 30 })
    assert.equal(plan.genreFrom, '"lofi" in the prompt')
    assert.equal(plan.tempoFrom, '"80 bpm" in the prompt')
    assert.match(plan.keyFrom, /^mode from the seed/)
    assert.equal(plan.parts[0]!.from, '"piano" in the prompt: the one instrument named plays the tune too')
    assert.equal(planPiece({ prompt: 'a tune', durationSec: 5 }).genreFrom, 'no genre word in the prompt: pop, the default')
  })
})

describe('form', () => {
  it('fills the bars with sections, intro and outro around verses and choruses', () => {
    const names = (bars: number) => formFor(bars).map((s) => `${s.name}${s.bars}`).join(' ')
    assert.equal(names(1), 'verse1')
    assert.equal(names(7), 'verse4 chorus3')
    assert.equal(names(10), 'intro2 verse4 chorus2 outro2')
    assert.equal(names(40), 'intro4 verse8 chorus8 verse8 chorus8 outro4')
    for (let bars = 1; bars <= 200; bars++) assert.equal(formFor(bars).reduce((sum, s) => sum + s.bars, 0), bars)
  })
})

describe('timing and voicing', () => {
  it('swings off-beat eighths late and leaves beats alone', () => {
    assert.equal(swingTick(240, 0.6), 288)
    assert.equal(swingTick(480 + 240, 0.5), 720)
    assert.equal(swingTick(960, 0.64), 960)
    assert.equal(swingTick(120, 0.6), 144)
  })

  it('voices chords in range, moving as little as it can', () => {
    const key = { tonic: 0, mode: 'major' as const }
    const c = voiceChord(chordOf('I', key), undefined)
    assert.ok(c.every((n) => n >= 52 && n <= 72))
    const f = voiceChord(chordOf('IV', key), c)
    // C E G to F A C: the common tone stays, the others move by step.
    assert.deepEqual(f.filter((n) => c.includes(n)), [60])
    assert.ok(f.reduce((sum, n) => sum + Math.min(...c.map((p) => Math.abs(p - n))), 0) <= 3)
  })
})
