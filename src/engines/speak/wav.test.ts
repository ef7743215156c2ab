import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readWavHeader } from './wav.ts'

const header = (rate: number, dataBytes: number, extra = Buffer.alloc(0)) => {
  const fmt = Buffer.alloc(24)
  fmt.write('fmt ', 0, 'latin1'); fmt.writeUInt32LE(16, 4); fmt.writeUInt16LE(1, 8); fmt.writeUInt16LE(1, 10)
  fmt.writeUInt32LE(rate, 12); fmt.writeUInt32LE(rate * 2, 16); fmt.writeUInt16LE(2, 20); fmt.writeUInt16LE(16, 22)
  const data = Buffer.alloc(8)
  data.write('data', 0, 'latin1'); data.writeUInt32LE(dataBytes, 4)
  const riff = Buffer.alloc(12)
  riff.write('RIFF', 0, 'latin1'); riff.writeUInt32LE(Math.min(0xffffffff, 4 + fmt.length + extra.length + 8 + dataBytes), 4); riff.write('WAVE', 8, 'latin1')
  return Buffer.concat([riff, fmt, extra, data])
}

describe('readWavHeader', () => {
  it('reads rate, layout and duration, past other chunks', () => {
    const list = Buffer.concat([Buffer.from('LIST', 'latin1'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc\0', 'latin1')])
    const head = header(24000, 48000, list)
    assert.deepEqual(readWavHeader(head, head.length + 48000), { sampleRate: 24000, channels: 1, bitsPerSample: 16, dataBytes: 48000, durationSec: 1 })
  })

  it('trusts the file size over a streamed header', () => {
    const head = header(16000, 0xffffffff)
    assert.equal(readWavHeader(head, head.length + 16000)?.durationSec, 0.5)
  })

  it('answers undefined for what is not a WAV', () => {
    assert.equal(readWavHeader(Buffer.from('SIOD ERROR: unbound variable'), 28), undefined)
    assert.equal(readWavHeader(Buffer.alloc(0), 0), undefined)
    assert.equal(readWavHeader(header(0, 10), 64), undefined)
  })
})
