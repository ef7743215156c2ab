import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { deformat, joinTexts, splitTexts } from './apertium-stream.ts'

// Texts a client may send that mean something to the stream format, a shell, or markup.
const TRICKY = [
  'The cat is on the table.',
  'a [b] c \\ d <e> f ^g$ h @i #j *k / {x} | ~y~ z',
  '^word<n><sg>$ [superblank] \\[escaped\\]',
  'Text with <b>markup</b> and <speak><break time="1s"/></speak>',
  '-h --help',
  '; rm -rf / && echo $(id) `id`',
  'line one\nline two\n\nline four\r\nline five',
  'tab\there, two  spaces, \x01 \x07 \x1b[31m controls',
  'Hello 😀 wörld — «quoted» “curly”',
  '[<tympan-segment/>] .[] [] ]['
]

const destxt = (text: string) => spawnSync('apertium-destxt', [], { input: text, encoding: 'utf8' })
const retxt = (stream: string) => spawnSync('apertium-retxt', [], { input: stream, encoding: 'utf8' })
const apertiumMissing = destxt('x').error ? 'apertium is not installed' : false

describe('deformat', () => {
  it('escapes the stream format\'s syntax characters', () => {
    assert.equal(deformat('a^b$c/d@e<f>g{h}i[j]k\\l'), 'a\\^b\\$c\\/d\\@e\\<f\\>g\\{h\\}i\\[j\\]k\\\\l.[]')
  })

  it('keeps one space as it is and puts other blanks, and ~, in a superblank', () => {
    assert.equal(deformat('a b  c\td~e'), 'a b[  ]c[\t]d[~]e.[]')
  })

  it('ends every text as a sentence, and a paragraph too', () => {
    assert.equal(deformat('Hi'), 'Hi.[]')
    assert.equal(deformat('One.\n\nTwo'), 'One..[][\n\n]Two.[]')
    assert.equal(deformat('One\nTwo'), 'One[\n]Two.[]')
  })

  it('does what apertium-destxt does', { skip: apertiumMissing }, () => {
    for (const text of TRICKY) assert.equal(deformat(text), destxt(text).stdout, JSON.stringify(text))
  })
})

describe('splitTexts', () => {
  it('gives back each text of joinTexts, in order, whatever it holds', () => {
    assert.deepEqual(splitTexts(joinTexts(TRICKY)), TRICKY)
    assert.deepEqual(splitTexts(joinTexts(['', 'a', ''])), ['', 'a', ''])
  })

  it('removes the sentence ends the pipeline carried along, but not the text\'s own periods', () => {
    assert.deepEqual(splitTexts(' Tengo un gato.[][<tympan-segment/>]Dije..[]'), [' Tengo un gato', 'Dije.'])
    assert.deepEqual(splitTexts('Uno..[][\n\n]Dos.[]'), ['Uno.\n\nDos'])
  })

  it('refuses a stream cut short', () => {
    assert.equal(splitTexts('abc\\'), undefined)
    assert.equal(splitTexts('abc[  '), undefined)
  })

  it('does what apertium-retxt does', { skip: apertiumMissing }, () => {
    for (const text of TRICKY) {
      const stream = deformat(text)
      assert.deepEqual(splitTexts(stream), [retxt(stream).stdout], JSON.stringify(text))
    }
  })
})
