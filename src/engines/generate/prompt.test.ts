import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { normalisePrompt, readPrompt, tokenise } from './prompt.ts'
import { DRUMLESS_WORDS, DRUM_WORDS, GENRES, INSTRUMENTS, MOODS, TEMPO_WORDS } from './vocabulary.ts'

describe('normalisePrompt', () => {
  it('turns control and format characters into spaces and collapses white space', () => {
    assert.equal(normalisePrompt('  calm\u0000lofi\t\n piano\u200b\u202e, 80\u0085bpm  '), 'calm lofi piano , 80 bpm')
    assert.equal(normalisePrompt('\u0001\u0002\u0003\u001b[31m'), '[31m')
    assert.equal(normalisePrompt('\u0007\u0008\u000b\u000c\u007f\u009f\u2028'), '')
  })
})

describe('tokenise', () => {
  it('splits letters from digits and keeps sharps in words', () => {
    assert.deepEqual(tokenise('120bpm lo-fi F#m B♭ hip-hop').map((t) => t.raw), ['120', 'bpm', 'lo', 'fi', 'F#m', 'Bb', 'hip', 'hop'])
    assert.deepEqual(tokenise('80 BPM').map((t) => [t.lower, t.number]), [['80', true], ['bpm', false]])
  })
})

describe('readPrompt', () => {
  it('reads genre, mood, tempo and instruments, with the words that said so', () => {
    const reading = readPrompt('calm lofi piano, 80 bpm')
    assert.deepEqual(reading.genres.map((g) => [g.value.name, g.words]), [['lofi', 'lofi']])
    assert.deepEqual(reading.moods.map((m) => [m.value.name, m.words]), [['calm', 'calm']])
    assert.deepEqual(reading.bpm, [{ value: 80, words: '80 bpm' }])
    assert.deepEqual(reading.instruments.map((i) => i.value.program), [0])
    assert.deepEqual(reading.unknown, [])
  })

  it('reads tempo written together, before, or after "tempo", and ignores impossible ones', () => {
    assert.deepEqual(readPrompt('techno 128bpm').bpm.map((b) => b.value), [128])
    assert.deepEqual(readPrompt('bpm 90').bpm.map((b) => b.value), [90])
    assert.deepEqual(readPrompt('tempo 100').bpm.map((b) => b.value), [100])
    assert.deepEqual(readPrompt('9000 bpm 12 bpm').bpm, [])
    assert.deepEqual(readPrompt('something fast').tempoWords.map((w) => w.value.label), ['fast'])
  })

  it('reads keys in words and as chord symbols, and a mode alone', () => {
    assert.deepEqual(readPrompt('in A minor').keys.map((k) => k.value), [{ tonic: 9, mode: 'minor' }])
    assert.deepEqual(readPrompt('f sharp major').keys.map((k) => k.value), [{ tonic: 6, mode: 'major' }])
    assert.deepEqual(readPrompt('b flat minor').keys.map((k) => k.value), [{ tonic: 10, mode: 'minor' }])
    assert.deepEqual(readPrompt('groove in F#m').keys.map((k) => k.value), [{ tonic: 6, mode: 'minor' }])
    assert.deepEqual(readPrompt('ballad in C').keys.map((k) => k.value), [{ tonic: 0, mode: 'major' }])
    assert.deepEqual(readPrompt('Eb major jazz').keys.map((k) => k.value), [{ tonic: 3, mode: 'major' }])
    // "a minor key" is a mode; "am" and "c" in a sentence are words, not keys.
    const modeOnly = readPrompt('a sad song in a minor key')
    assert.deepEqual(modeOnly.keys, [])
    assert.deepEqual(modeOnly.modes.map((m) => m.value), ['minor'])
    assert.deepEqual(readPrompt('i am c').keys, [])
    assert.deepEqual(readPrompt('something major').modes.map((m) => m.value), ['major'])
  })

  it('prefers two-word phrases, finds them written as one word, and honours "no" and "without"', () => {
    assert.deepEqual(readPrompt('electric piano').instruments.map((i) => i.value.program), [4])
    assert.deepEqual(readPrompt('hiphop').genres.map((g) => g.value.name), ['hip hop'])
    assert.deepEqual(readPrompt('lo-fi').genres.map((g) => g.value.name), ['lofi'])
    const reading = readPrompt('rock without drums, no bass, with strings')
    assert.deepEqual(reading.excluded.map((e) => e.value === 'drums' ? 'drums' : e.value.program), ['drums', 33])
    assert.deepEqual(reading.excluded.map((e) => e.words), ['without drums', 'no bass'])
    assert.deepEqual(reading.instruments.map((i) => i.value.program), [48])
    assert.deepEqual(readPrompt('drumless folk').drums.map((d) => d.value), [false])
  })

  it('lists the words it did not understand, without filler, capped', () => {
    assert.deepEqual(readPrompt('a spaceship piece with glitter and piano').unknown, ['spaceship', 'glitter'])
    assert.equal(readPrompt(Array.from({ length: 100 }, (_, i) => `qq${String.fromCharCode(97 + (i % 26), 97 + Math.floor(i / 26))}`).join(' ')).unknown.length, 20)
  })

  it('reads a prompt of any characters without failing', () => {
    const noise = Array.from({ length: 1000 }, (_, i) => String.fromCodePoint((i * 7919) % 0x2fff)).join('')
    const reading = readPrompt(noise)
    assert.equal(typeof reading.text, 'string')
    assert.deepEqual(readPrompt('#'.repeat(1000)).keys, [])
  })
})

describe('the vocabulary', () => {
  it('gives every word one meaning', () => {
    const entries: [string, string[]][] = [
      ...GENRES.map((g): [string, string[]] => [`genre ${g.name}`, g.words]),
      ...MOODS.map((m): [string, string[]] => [`mood ${m.name}`, m.words]),
      ...Object.keys(TEMPO_WORDS).map((w): [string, string[]] => [`tempo ${w}`, [w]]),
      ...INSTRUMENTS.map((i): [string, string[]] => [`instrument ${i.name} ${i.words[0]}`, i.words]),
      ['drums', DRUM_WORDS], ['drumless', DRUMLESS_WORDS]
    ]
    const owner = new Map<string, string>()
    const clashes: string[] = []
    for (const [name, words] of entries) {
      for (const form of new Set(words.flatMap((w) => [w, w.replaceAll(' ', '')]))) {
        if (owner.has(form)) clashes.push(`${form}: ${owner.get(form)} and ${name}`)
        owner.set(form, name)
      }
    }
    assert.deepEqual(clashes, [])
  })
})
