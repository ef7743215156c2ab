import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseMidi, type MidiEvent } from 'midi-file'
import { STYLES, composeSong, midiBytes, singingSsml } from './compose.ts'

const events = (bytes: Uint8Array) => parseMidi(bytes).tracks.flat()
const notesOn = (list: MidiEvent[]) => list.filter((e) => e.type === 'noteOn' && e.velocity > 0)

describe('the test set composer', () => {
  it('gives the same song, byte for byte, for the same seed, and another for another seed', () => {
    const a = composeSong(7, 'rock')
    const b = composeSong(7, 'rock')
    assert.deepEqual(midiBytes(a.midi.other), midiBytes(b.midi.other))
    assert.deepEqual(a.vocal, b.vocal)
    assert.notDeepEqual(midiBytes(composeSong(8, 'rock').midi.bass), midiBytes(a.midi.bass))
  })

  for (const style of STYLES) {
    it(`writes a playable ${style} song of whole bars, 20–30 s`, () => {
      const song = composeSong(11, style)
      assert.ok(song.durationSec >= 20 && song.durationSec <= 30, `${song.durationSec} s`)
      assert.ok(Math.abs(song.durationSec - (song.bars * 240) / song.tempo) < 1e-9)
      const drums = events(midiBytes(song.midi.drums))
      assert.ok(notesOn(drums).length > 0 && notesOn(drums).every((e) => e.type === 'noteOn' && e.channel === 9), 'drums on MIDI channel 10')
      const bass = events(midiBytes(song.midi.bass))
      const program = bass.find((e) => e.type === 'programChange')
      assert.ok(program?.type === 'programChange' && program.programNumber >= 32 && program.programNumber <= 38, 'a GM bass program (33–39)')
      assert.ok(notesOn(bass).every((e) => e.type === 'noteOn' && e.noteNumber < 55), 'the bass stays low')
      // The chords are panned wide: the comping part left, the pad right.
      const pans = parseMidi(midiBytes(song.midi.other)).tracks.map((t) => t.find((e) => e.type === 'controller' && e.controllerType === 10))
      assert.ok(pans[0]?.type === 'controller' && pans[0].value < 40 && pans[1]?.type === 'controller' && pans[1].value > 88)
      for (const midi of Object.values(song.midi)) {
        const list = events(midiBytes(midi))
        const offs = list.filter((e) => e.type === 'noteOff' || (e.type === 'noteOn' && e.velocity === 0))
        assert.equal(offs.length, notesOn(list).length, 'every note is released')
      }
      assert.ok(song.vocal.gapsSec.every((g) => g > 0 && g < 1), 'no second of the voice is silent')
    })
  }

  it('sings one pitch per word, relative to the voice\'s base, as data inside SSML', () => {
    const ssml = singingSsml({ words: ['hold', 'the', 'line'], semitones: [0, 12, -2] }, 60)
    assert.equal(ssml, '<speak><prosody rate="60%" range="x-low"><prosody pitch="+0%">hold</prosody> <prosody pitch="+100%">the</prosody> <prosody pitch="-11%">line</prosody></prosody></speak>')
  })
})
