import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatFromDetected, formatFromName, magicMatches, sanitiseFileName } from './formats.ts'

describe('formatFromName', () => {
  it('takes the last extension, case-insensitively', () => {
    assert.equal(formatFromName('talk.MP3'), 'mp3')
    assert.equal(formatFromName('x.php.mp3'), 'mp3')
    assert.equal(formatFromName('x.mp3.php'), undefined)
    assert.equal(formatFromName('noext'), undefined)
    assert.equal(formatFromName('.mp3'), undefined, 'a dotfile has no extension')
    assert.equal(formatFromName('song.webm'), undefined)
  })
})

describe('magicMatches', () => {
  it('accepts only the family of the extension', () => {
    assert.ok(magicMatches('m4a', 'mp4'))
    assert.ok(magicMatches('wma', 'asf'))
    assert.ok(!magicMatches('wav', 'flac'))
    assert.ok(!magicMatches('mp3', undefined))
    assert.equal(formatFromDetected('asf'), 'wma')
    assert.equal(formatFromDetected('exe'), undefined)
  })
})

describe('sanitiseFileName', () => {
  it('removes separators, controls, bidi overrides and leading dots', () => {
    assert.equal(sanitiseFileName('../../etc/passwd.mp3'), 'etcpasswd.mp3')
    assert.equal(sanitiseFileName('..\\..\\x.mp3'), 'x.mp3')
    assert.equal(sanitiseFileName('a\u0000b\nc.mp3'), 'abc.mp3')
    assert.equal(sanitiseFileName('evil\u202egnp.mp3'), 'evilgnp.mp3')
    assert.equal(sanitiseFileName('....'), 'audio')
    assert.equal(sanitiseFileName('', 'audio.wav'), 'audio.wav')
  })

  it('normalises to NFC', () => {
    assert.equal(sanitiseFileName('cafe\u0301.mp3'), 'caf\u00e9.mp3')
  })

  it('keeps at most 255 bytes of UTF-8 and the extension', () => {
    const long = sanitiseFileName(`${'é'.repeat(300)}.flac`)
    assert.ok(Buffer.byteLength(long) <= 255)
    assert.ok(long.endsWith('.flac'))
    assert.ok(!long.includes('\ufffd'), 'cut on a character boundary')
  })

  it('cuts a 16,000-character name in one pass', () => {
    for (const [char, bytes] of [['a', 1], ['é', 2], ['🎵', 4]] as const) {
      const started = performance.now()
      const cut = sanitiseFileName(`${char.repeat(16_000)}.mp3`)
      const ms = performance.now() - started
      assert.ok(ms < 200, `${char}: took ${ms.toFixed(1)} ms`)
      assert.equal(cut, `${char.repeat(Math.floor(251 / bytes))}.mp3`)
    }
  })

  it('does not keep an over-long extension whole', () => {
    const cut = sanitiseFileName(`name.${'x'.repeat(400)}`)
    assert.equal(Buffer.byteLength(cut), 255)
    assert.ok(cut.startsWith('name.xxx'))
  })
})
