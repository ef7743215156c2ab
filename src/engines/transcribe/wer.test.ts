import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { normaliseWords, wordErrorRate } from './wer.ts'

describe('normaliseWords', () => {
  it('lowercases and strips punctuation but keeps apostrophes inside words', () => {
    assert.deepEqual(normaliseWords('  Hello, World! Don’t   "stop" — 42.'), ['hello', 'world', "don't", 'stop', '42'])
    assert.deepEqual(normaliseWords("'quoted'"), ['quoted'])
    assert.deepEqual(normaliseWords(''), [])
  })
})

describe('wordErrorRate', () => {
  it('is zero for the same words, whatever the case and punctuation', () => {
    assert.equal(wordErrorRate('He was not an ill-disposed young man.', 'he was not an ill disposed young man').wer, 0)
  })

  it('counts substitutions, deletions and insertions', () => {
    const r = wordErrorRate('he was not an ill disposed young man', 'he was not until this blows young man')
    assert.deepEqual(r, { wer: 3 / 8, substitutions: 3, deletions: 0, insertions: 0, referenceWords: 8 })
    const d = wordErrorRate('a b c d', 'a c d')
    assert.deepEqual([d.substitutions, d.deletions, d.insertions, d.wer], [0, 1, 0, 0.25])
    const i = wordErrorRate('a b', 'a x b y')
    assert.deepEqual([i.substitutions, i.deletions, i.insertions, i.wer], [0, 0, 2, 1])
  })

  it('handles empty texts', () => {
    assert.equal(wordErrorRate('', '').wer, 0)
    assert.equal(wordErrorRate('', 'noise').wer, 1)
    assert.equal(wordErrorRate('two words', '').wer, 1)
  })
})
