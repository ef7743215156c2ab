import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { findAll, MUTATIONS, mutate } from './mutate.ts'

/** A small canonical WAV: 44-byte header, then `samples` bytes of a ramp. */
function wav (samples = 2000): Buffer {
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'latin1')
  header.writeUInt32LE(36 + samples, 4)
  header.write('WAVEfmt ', 8, 'latin1')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(2, 22)
  header.writeUInt32LE(44100, 24)
  header.writeUInt32LE(176400, 28)
  header.writeUInt16LE(4, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'latin1')
  header.writeUInt32LE(samples, 40)
  return Buffer.concat([header, Buffer.from(Array.from({ length: samples }, (_, i) => i & 0xff))])
}

describe('fuzz mutations', () => {
  it('are deterministic: the same seed gives the same bytes and description', () => {
    const input = wav()
    for (let seed = 0; seed < 200; seed++) {
      const a = mutate(input, seed)
      const b = mutate(input, seed)
      assert.deepEqual(a.bytes, b.bytes)
      assert.equal(a.description, b.description)
    }
  })

  it('never change the input, and always change the output', () => {
    const input = wav()
    const copy = Buffer.from(input)
    for (let seed = 0; seed < 500; seed++) {
      const { bytes, description } = mutate(input, seed)
      assert.notDeepEqual(bytes, input, `seed ${seed} (${description}) left the file as it was`)
    }
    assert.deepEqual(input, copy)
  })

  it('choose every mutation over a few hundred seeds', () => {
    const seen = new Set(Array.from({ length: 400 }, (_, seed) => mutate(wav(), seed).kind))
    assert.deepEqual([...seen].sort(), [...MUTATIONS].sort())
  })

  it('edit the WAV fields they name', () => {
    const input = wav()
    let sizeEdits = 0
    let fieldEdits = 0
    for (let seed = 0; seed < 300; seed++) {
      const { bytes, description } = mutate(input, seed, 'sizeField')
      if (description.includes(';') || description.includes('no change')) continue
      assert.equal(bytes.length, input.length)
      const differing = [...bytes.keys()].filter((i) => bytes[i] !== input[i])
      // A RIFF size field is the 4 bytes after its id: RIFF@0 → 4..7, fmt @12 → 16..19, data@36 → 40..43.
      assert.ok(differing.every((i) => (i >= 4 && i < 8) || (i >= 16 && i < 20) || (i >= 40 && i < 44) || description.includes('WAVE')), description)
      sizeEdits++
    }
    for (let seed = 0; seed < 300; seed++) {
      const { bytes, description } = mutate(input, seed, 'audioField')
      if (description.includes(';') || description.includes('no change') || !description.includes('"fmt "')) continue
      const differing = [...bytes.keys()].filter((i) => bytes[i] !== input[i])
      assert.ok(differing.every((i) => i >= 20 && i < 36), description)
      fieldEdits++
    }
    assert.ok(sizeEdits > 50 && fieldEdits > 50, `${sizeEdits} size and ${fieldEdits} field edits checked`)
  })

  it('truncate to a prefix, insert and duplicate to a longer file', () => {
    const input = wav()
    for (let seed = 0; seed < 100; seed++) {
      const cut = mutate(input, seed, 'truncate')
      if (!cut.description.includes(';')) {
        assert.ok(cut.bytes.length < input.length)
        assert.deepEqual(cut.bytes, input.subarray(0, cut.bytes.length))
      }
      for (const kind of ['insert', 'duplicate'] as const) {
        const longer = mutate(input, seed, kind)
        if (!longer.description.includes(';')) assert.ok(longer.bytes.length > input.length, longer.description)
      }
    }
  })

  it('find every occurrence of a marker', () => {
    assert.deepEqual(findAll(Buffer.from('OggS..OggSOggS'), 'OggS'), [0, 6, 10])
    assert.deepEqual(findAll(Buffer.from('none'), 'OggS'), [])
  })

  it('leave an empty file empty', () => {
    assert.equal(mutate(Buffer.alloc(0), 7).bytes.length, 0)
  })
})
