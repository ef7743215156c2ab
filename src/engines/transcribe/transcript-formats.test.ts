import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { TRANSCRIPT_ARTIFACTS, renderTranscriptFiles, srtTime, toCues, toJson, toSrt, toText, toVerboseJson, toVtt, vttTime } from './transcript-formats.ts'
import type { Transcript, TranscriptWord } from './transcript.ts'

function words (text: string, start: number, step: number): TranscriptWord[] {
  return text.split(' ').map((word, i) => ({ word, start: start + i * step, end: start + i * step + step * 0.8, confidence: 0.9 }))
}

const short: Transcript = {
  text: 'he was not an ill disposed young man',
  segments: [{ id: 0, start: 1.25, end: 3.5, text: 'he was not an ill disposed young man', words: words('he was not an ill disposed young man', 1.25, 0.25) }],
  language: 'en',
  duration: 4,
  engine: 'pocketsphinx'
}

const longText = 'had he married a more amiable woman he might have been made still more respectable than he was and he might even have been made amiable himself'
const long: Transcript = {
  text: longText,
  segments: [{ id: 0, start: 0, end: 16, text: longText, words: words(longText, 0, 0.5) }],
  language: 'en',
  duration: 16,
  engine: 'pocketsphinx'
}

describe('timestamps', () => {
  it('formats SRT with a comma and VTT with a dot, to the millisecond', () => {
    assert.equal(srtTime(1.25), '00:00:01,250')
    assert.equal(vttTime(1.25), '00:00:01.250')
    assert.equal(srtTime(3723.0456), '01:02:03,046')
    assert.equal(vttTime(0), '00:00:00.000')
  })
})

describe('toSrt and toVtt', () => {
  it('numbers cues and separates them with blank lines', () => {
    assert.equal(toSrt(short), '1\n00:00:01,250 --> 00:00:03,200\nhe was not an ill disposed young man\n')
    assert.equal(toVtt(short), 'WEBVTT\n\n1\n00:00:01.250 --> 00:00:03.200\nhe was not an ill disposed young man\n')
  })

  it('splits a long segment into cues of at most 7 s and two lines of at most 42 characters', () => {
    const cues = toCues(long)
    assert.ok(cues.length >= 2)
    for (const cue of cues) {
      assert.ok(cue.end - cue.start <= 7, `cue of ${cue.end - cue.start} s`)
      assert.ok(cue.lines.length >= 1 && cue.lines.length <= 2)
      for (const line of cue.lines) assert.ok(line.length <= 42, `line "${line}"`)
    }
    assert.equal(cues.flatMap((c) => c.lines).join(' '), longText, 'no word lost or repeated')
    for (let i = 1; i < cues.length; i++) assert.ok((cues[i]?.start ?? 0) >= (cues[i - 1]?.end ?? 0))
    const srt = toSrt(long).split('\n\n')
    assert.equal(srt.length, cues.length)
    assert.match(srt[1] ?? '', /^2\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n/)
  })

  it('starts a new cue when the words no longer fit two lines', () => {
    const cues = toCues(long, { maxCueSec: 60 })
    assert.ok(cues.length >= 2)
    for (const cue of cues) assert.ok(cue.lines.join(' ').length <= 85)
  })

  it('balances two lines rather than filling the first', () => {
    const [cue] = toCues(long, { maxCueSec: 60, maxLineChars: 42 })
    assert.ok(cue)
    assert.equal(cue.lines.length, 2)
    assert.ok(Math.abs((cue.lines[0]?.length ?? 0) - (cue.lines[1]?.length ?? 0)) <= 10, cue.lines.join(' | '))
  })

  it('spreads a segment without word timings over its span', () => {
    const plain: Transcript = { ...long, segments: [{ ...long.segments[0]!, words: [] }] }
    const cues = toCues(plain)
    assert.ok(cues.length >= 3)
    assert.equal(cues[0]?.start, 0)
    assert.ok(Math.abs((cues.at(-1)?.end ?? 0) - 16) < 1e-9)
  })

  it('escapes markup in VTT and writes only the header for an empty transcript', () => {
    const odd: Transcript = { ...short, segments: [{ ...short.segments[0]!, text: 'a <b> & c', words: words('a <b> & c', 0, 0.5) }] }
    assert.match(toVtt(odd), /\na &lt;b&gt; &amp; c\n/)
    const empty: Transcript = { ...short, text: '', segments: [] }
    assert.equal(toVtt(empty), 'WEBVTT\n')
    assert.equal(toSrt(empty), '')
    assert.equal(toText(empty), '')
  })
})

describe('toJson and toVerboseJson', () => {
  it('answers like OpenAI', () => {
    assert.deepEqual(toJson(short), { text: short.text })
    assert.equal(toText(short), `${short.text}\n`)
    const verbose = toVerboseJson(short)
    assert.equal(verbose.task, 'transcribe')
    assert.equal(verbose.language, 'english')
    assert.equal(verbose.duration, 4)
    assert.equal(verbose.words, undefined)
    const [segment] = verbose.segments
    assert.ok(segment)
    assert.deepEqual(Object.keys(segment), ['id', 'seek', 'start', 'end', 'text', 'tokens', 'temperature', 'avg_logprob', 'compression_ratio', 'no_speech_prob'])
    assert.equal(segment.seek, 125)
    assert.deepEqual(segment.tokens, [])
    assert.equal(segment.avg_logprob, Number(Math.log(0.9).toFixed(4)))
    assert.ok(segment.compression_ratio > 0)
  })

  it('lists words when asked', () => {
    const verbose = toVerboseJson(short, { words: true })
    assert.equal(verbose.words?.length, 8)
    assert.deepEqual(verbose.words?.[0], { word: 'he', start: 1.25, end: 1.45 })
  })
})

describe('renderTranscriptFiles', () => {
  it('renders every artifact with its content type', () => {
    const files = renderTranscriptFiles(short, { words: true })
    assert.deepEqual(files.map((f) => f.name), TRANSCRIPT_ARTIFACTS.map((a) => a.name))
    assert.equal(files.find((f) => f.name === 'transcript.srt')?.contentType, 'application/x-subrip')
    assert.equal(files.find((f) => f.name === 'transcript.vtt')?.contentType, 'text/vtt')
    assert.equal(files.find((f) => f.name === 'transcript.txt')?.contentType, 'text/plain; charset=utf-8')
    const verbose = JSON.parse(files.find((f) => f.name === 'transcript.verbose.json')?.body ?? '{}') as { words?: unknown[] }
    assert.equal(verbose.words?.length, 8)
  })
})
