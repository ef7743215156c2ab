/**
 * fixtures/whisper-cpp-full.json has exactly the layout whisper.cpp's CLI writes with
 * `-oj -ojf` (output_json in examples/cli/cli.cpp of ggml-org/whisper.cpp: tab indentation,
 * key order, `timestamps` and `offsets` on every token, floats as `ostream` prints them). Its
 * segment is samples/jfk.wav as run through whisper-cli with ggml-base.bin in
 * danbev/learning-ai notes/whisper/token-level-timestamps.md, which quotes the segment text and
 * the first tokens ([_BEG_] p 0.989351, " And" 40–240 ms p 0.584645, " ask" p 0.471208, 27
 * tokens); the remaining token times and probabilities are filled in to the same shape.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { parsePrintedSegment, parseWhisperJson } from './whisper.json.ts'

const fixture = await readFile(new URL('./fixtures/whisper-cpp-full.json', import.meta.url))

/** A minimal document in the writer's shape, with token texts given as raw bytes. */
function document (segments: Array<{ from: number, to: number, text: Buffer | string, tokens: Array<[Buffer | string, number, number, number]> }>, language = 'en'): Buffer {
  const parts: Buffer[] = [Buffer.from(`{"result": {"language": "${language}"}, "transcription": [`)]
  segments.forEach((s, i) => {
    parts.push(Buffer.from(`${i ? ',' : ''}{"offsets": {"from": ${s.from}, "to": ${s.to}}, "text": "`), Buffer.from(s.text), Buffer.from('", "tokens": ['))
    s.tokens.forEach(([text, from, to, p], j) => {
      parts.push(Buffer.from(`${j ? ',' : ''}{"text": "`), Buffer.from(text), Buffer.from(`", "offsets": {"from": ${from}, "to": ${to}}, "id": 1, "p": ${p}, "t_dtw": -1}`))
    })
    parts.push(Buffer.from(']}'))
  })
  parts.push(Buffer.from(']}'))
  return Buffer.concat(parts)
}

describe('parseWhisperJson', () => {
  it('reads the recorded whisper-cli output into words with times and confidences', () => {
    const { language, segments } = parseWhisperJson(fixture)
    assert.equal(language, 'en')
    assert.equal(segments.length, 1)
    const [segment] = segments
    assert.ok(segment)
    assert.equal(segment.start, 0)
    assert.equal(segment.end, 11)
    assert.equal(segment.text, 'And so, my fellow Americans ask not what your country can do for you, ask what you can do for your country.')
    assert.deepEqual(segment.words.map((w) => w.word).join(' '), segment.text)
    assert.deepEqual(segment.words[0], { word: 'And', start: 0.04, end: 0.24, confidence: 0.585 })
    assert.deepEqual(segment.words[1], { word: 'so,', start: 0.24, end: 0.64, confidence: 0.779 })
    assert.deepEqual(segment.words.at(-1), { word: 'country.', start: 10.2, end: 11, confidence: 0.892 })
    for (let i = 1; i < segment.words.length; i++) {
      assert.ok((segment.words[i]?.start ?? 0) >= (segment.words[i - 1]?.end ?? 0), 'words do not overlap')
    }
  })

  it('decodes a character split across tokens once the word is whole', () => {
    const cafe = Buffer.from(' café', 'utf8')
    const doc = document([{ from: 0, to: 1000, text: cafe, tokens: [[' caf', 0, 400, 0.9], [cafe.subarray(4, 5), 400, 500, 0.8], [cafe.subarray(5), 500, 600, 0.7]] }], 'fr')
    const [segment] = parseWhisperJson(doc).segments
    assert.equal(segment?.text, 'café')
    assert.deepEqual(segment?.words, [{ word: 'café', start: 0, end: 0.6, confidence: 0.8 }])
  })

  it('makes one word per character run in languages written without spaces', () => {
    const text = Buffer.from('今天天气', 'utf8')
    const qi = Buffer.from('气', 'utf8')
    const doc = document([{ from: 0, to: 2000, text, tokens: [['今天', 0, 500, 0.9], ['天', 500, 900, 0.9], [qi.subarray(0, 2), 900, 1000, 0.6], [qi.subarray(2), 1000, 1400, 0.8]] }], 'zh')
    const { language, segments } = parseWhisperJson(doc)
    assert.equal(language, 'zh')
    assert.deepEqual(segments[0]?.words.map((w) => [w.word, w.start, w.end]), [['今天', 0, 0.5], ['天', 0.5, 0.9], ['气', 0.9, 1.4]])
  })

  it('tolerates raw control characters, tokens without offsets and sound annotations', () => {
    const doc = Buffer.from([
      '{"result": {"language": "en"}, "transcription": [',
      '{"offsets": {"from": 0, "to": 2000}, "text": " [BLANK_AUDIO]", "tokens": []},',
      '{"offsets": {"from": 2000, "to": 4000}, "text": " hello\tthere", "tokens": [',
      '{"text": "[_BEG_]", "offsets": {"from": 2000, "to": 2000}, "id": 50364, "p": 0.9, "t_dtw": -1},',
      '{"text": " hello\u0001", "offsets": {"from": 2100, "to": 2600}, "id": 1, "p": 0.9, "t_dtw": -1},',
      '{"text": " there", "id": 2, "p": 0.5, "t_dtw": -1}]}]}'
    ].join(''))
    const { segments } = parseWhisperJson(doc)
    assert.equal(segments.length, 1)
    assert.equal(segments[0]?.id, 0)
    assert.deepEqual(segments[0]?.words.map((w) => [w.word, w.start, w.end]), [['hello', 2.1, 2.6], ['there', 2.6, 2.6]])
  })

  it('falls back to the requested language when nothing was transcribed', () => {
    const doc = Buffer.from('{"result": {"language": "en"}, "transcription": []}')
    assert.deepEqual(parseWhisperJson(doc, 'de'), { language: 'de', segments: [] })
    assert.throws(() => parseWhisperJson(Buffer.from('{"result": {}}')), /no transcription/)
  })
})

describe('parsePrintedSegment', () => {
  it('reads the segment the CLI prints as it decodes, with its times', () => {
    assert.deepEqual(parsePrintedSegment('[00:01:02.500 --> 01:00:03.250]   And so, my fellow Americans'), { start: 62.5, end: 3603.25, text: 'And so, my fellow Americans', words: [] })
  })

  it('skips sound annotations, empty segments and every other line', () => {
    assert.equal(parsePrintedSegment('[00:00:00.000 --> 00:00:02.000]   [BLANK_AUDIO]'), undefined)
    assert.equal(parsePrintedSegment('[00:00:00.000 --> 00:00:02.000]   '), undefined)
    assert.equal(parsePrintedSegment('whisper_print_timings:     load time =   100.00 ms'), undefined)
    assert.equal(parsePrintedSegment('main: processing \'audio.wav\' (16000 samples, 1.0 sec), 2 threads'), undefined)
  })
})
