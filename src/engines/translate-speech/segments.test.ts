import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { toCues } from '../transcribe/transcript-formats.ts'
import type { Transcript } from '../transcribe/transcript.ts'
import { speechSpan, translatedSegments, translatedTranscript, translationFiles } from './segments.ts'

const word = (w: string, start: number, end: number) => ({ word: w, start, end, confidence: 1 })
const source: Transcript = {
  text: 'good morning it is a long day of many words that goes on',
  segments: [
    { id: 0, start: 0, end: 2.5, text: 'good morning', words: [word('good', 0.3, 0.7), word('morning', 0.8, 1.9)] },
    { id: 1, start: 3, end: 14, text: 'it is a long day of many words that goes on', words: [word('it', 3.2, 3.4), word('is', 3.5, 3.6), word('a', 3.7, 3.8), word('long', 4, 4.5), word('day', 5, 6), word('of', 7, 7.2), word('many', 8, 9), word('words', 10, 11), word('that', 11.5, 12), word('goes', 12.2, 12.6), word('on', 12.7, 13.1)] },
    { id: 2, start: 15, end: 16, text: 'um', words: [] }
  ],
  language: 'en',
  duration: 16.5,
  engine: 'pocketsphinx'
}

describe('translated segments', () => {
  it('times each translation by its source segment\'s speech: first word to last, or the segment without words', () => {
    assert.deepEqual(speechSpan(source.segments[0]!), { start: 0.3, end: 1.9 })
    assert.deepEqual(speechSpan(source.segments[2]!), { start: 15, end: 16 })
    const segments = translatedSegments(source, ['buenos días', 'es un día largo de muchas palabras que sigue y sigue', ' eh '])
    assert.deepEqual(segments.map((s) => [s.start, s.end, s.text]), [[0.3, 1.9, 'buenos días'], [3.2, 13.1, 'es un día largo de muchas palabras que sigue y sigue'], [15, 16, 'eh']])
    assert.throws(() => translatedSegments(source, ['uno']), /1 translations for 3 segments/)
  })

  it('writes subtitles whose cues keep the source\'s timings, a long segment split within its span', () => {
    const translation = translatedTranscript(source, translatedSegments(source, ['buenos días', 'es un día largo de muchas palabras que sigue y sigue', '']), 'es')
    assert.equal(translation.language, 'es')
    assert.equal(translation.text, 'buenos días es un día largo de muchas palabras que sigue y sigue')
    assert.equal(translation.segments.length, 2, 'a segment that translates to nothing has no cue')
    const cues = toCues(translation)
    const sourceCues = toCues(source)
    assert.deepEqual([cues[0]!.start, cues[0]!.end], [sourceCues[0]!.start, sourceCues[0]!.end], 'a one-cue segment keeps its cue\'s times')
    const long = cues.slice(1)
    assert.ok(long.length >= 2, 'longer than a cue may last: split')
    assert.equal(long[0]!.start, 3.2)
    assert.ok(Math.abs(long.at(-1)!.end - 13.1) < 0.001)
    for (const [i, cue] of long.entries()) if (i > 0) assert.ok(cue.start >= long[i - 1]!.end - 0.001)
    const files = translationFiles(translation)
    assert.deepEqual(files.map((f) => f.name), ['translation.txt', 'translation.srt', 'translation.vtt'])
    assert.match(files[1]!.body, /^1\n00:00:00,300 --> 00:00:01,900\nbuenos días\n/)
    assert.match(files[2]!.body, /^WEBVTT\n\n1\n00:00:00\.300 --> 00:00:01\.900\nbuenos días\n/)
  })
})
