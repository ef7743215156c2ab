import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { chunkText, splitSentences } from './sentences.ts'

describe('splitSentences', () => {
  it('ends sentences at terminators followed by space, with their closing marks, and at line breaks', () => {
    assert.deepEqual(splitSentences('He said "no." Then he left! Why?  Because.'), ['He said "no."', 'Then he left!', 'Why?', 'Because.'])
    assert.deepEqual(splitSentences('one line\nanother line'), ['one line', 'another line'])
    assert.deepEqual(splitSentences('3.14 is pi... or so'), ['3.14 is pi...', 'or so'])
    assert.deepEqual(splitSentences('¿Qué tal? Bien.'), ['¿Qué tal?', 'Bien.'])
    assert.deepEqual(splitSentences('今日は。明日は。'), ['今日は。', '明日は。'])
    assert.deepEqual(splitSentences('  \n\n '), [])
    assert.deepEqual(splitSentences('no terminator'), ['no terminator'])
  })

  it('scans a run of marks once, so adversarial text costs linear time', () => {
    // A run of marks not followed by a space used to be rescanned from each of its marks:
    // this text took minutes that way.
    const text = `${'.'.repeat(200_000)}x${'?!'.repeat(100_000)} end`
    assert.deepEqual(splitSentences(text).map((s) => s.length), [text.length - 4, 3])
    const chunks = chunkText(text, 600)
    assert.ok(chunks.every((c) => c.length <= 600))
    assert.equal(chunks.join(' ').replaceAll('\n', ' ').replaceAll(' ', ''), text.replace(' ', ''))
  })
})

describe('chunkText', () => {
  it('packs whole sentences up to the limit, in order, one per line', () => {
    assert.deepEqual(chunkText('One. Two. Three. Four.', 10), ['One.\nTwo.', 'Three.', 'Four.'])
    assert.deepEqual(chunkText('Short.', 100), ['Short.'])
  })

  it('cuts a sentence longer than the limit at a space, else a comma, else hard', () => {
    assert.deepEqual(chunkText('aaaa bbbb cccc dddd', 10), ['aaaa bbbb', 'cccc dddd'])
    assert.deepEqual(chunkText('aaaaaaa,bbbbbbb', 10), ['aaaaaaa,', 'bbbbbbb'])
    assert.deepEqual(chunkText('abcdefghijklmnopqrstuvwxy', 10), ['abcdefghij', 'klmnopqrst', 'uvwxy'])
    for (const chunk of chunkText('word '.repeat(1000), 600)) assert.ok(chunk.length <= 600)
  })
})
