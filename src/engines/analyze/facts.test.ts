import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseFacts } from './facts.ts'

// Trimmed from `ffprobe -print_format json -show_format -show_streams` of a tagged mp3 with cover art.
const MP3 = JSON.stringify({
  streams: [
    { index: 0, codec_name: 'mp3', codec_type: 'audio', sample_rate: '22050', channels: 1, bit_rate: '32000', duration: '6.556735', tags: { encoder: 'LAME3.100' } },
    { index: 1, codec_name: 'mjpeg', codec_type: 'video', disposition: { attached_pic: 1 } }
  ],
  format: { filename: '/srv/data/x.mp3', format_name: 'mp3', duration: '6.556735', bit_rate: '32327', tags: { title: 'Hello World', ARTIST: 'Tympan', encoder: 'Lavf59.27.100' } }
})

describe('parseFacts', () => {
  it('reads the first audio stream and the container', () => {
    assert.deepEqual(parseFacts(MP3), {
      format: 'mp3',
      codec: 'mp3',
      durationSec: 6.556735,
      sampleRate: 22050,
      channels: 1,
      bitRate: 32327,
      tags: { encoder: 'Lavf59.27.100', title: 'Hello World', artist: 'Tympan' }
    })
  })

  it('falls back to the stream for duration and bit rate, and says null for an unknown bit rate', () => {
    const facts = parseFacts(JSON.stringify({ streams: [{ codec_type: 'audio', codec_name: 'vorbis', sample_rate: '44100', channels: 2, duration: '2.5', tags: { TITLE: 'x' } }], format: { format_name: 'ogg' } }))
    assert.equal(facts?.durationSec, 2.5)
    assert.equal(facts.bitRate, null)
    assert.deepEqual(facts.tags, { title: 'x' })
  })

  it('bounds the tags: count, key and value length, strings only', () => {
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']))
    const facts = parseFacts(JSON.stringify({ streams: [{ codec_type: 'audio', tags: { lyrics: 'x'.repeat(5000), ['K'.repeat(100)]: 'v', n: 3 } }], format: { tags: many } }))
    assert.equal(Object.keys(facts!.tags).length, 32)
    assert.equal(facts!.tags.lyrics?.length, 1024)
    assert.equal(facts!.tags['k'.repeat(64)], 'v')
    assert.equal('n' in facts!.tags, false)
  })

  it('is undefined without an audio stream or for JSON that is not ffprobe output', () => {
    assert.equal(parseFacts(JSON.stringify({ streams: [{ codec_type: 'video' }], format: {} })), undefined)
    assert.equal(parseFacts('not json'), undefined)
    assert.equal(parseFacts('{}'), undefined)
  })
})
