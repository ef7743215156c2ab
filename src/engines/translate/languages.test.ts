import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { languageName, normaliseLanguage } from './languages.ts'

describe('normaliseLanguage', () => {
  it('maps ISO 639-3 and 639-2/B codes to ISO 639-1', () => {
    const cases: [string, string][] = [
      ['eng', 'en'], ['spa', 'es'], ['cat', 'ca'], ['glg', 'gl'], ['por', 'pt'], ['fra', 'fr'], ['fre', 'fr'],
      ['ita', 'it'], ['deu', 'de'], ['ger', 'de'], ['eus', 'eu'], ['baq', 'eu'], ['ron', 'ro'], ['rum', 'ro']
    ]
    for (const [code, expected] of cases) assert.equal(normaliseLanguage(code), expected, code)
  })

  it('keeps ISO 639-1 codes and ISO 639-3 codes that have no 639-1 code', () => {
    for (const code of ['en', 'es', 'fr', 'oc', 'eo']) assert.equal(normaliseLanguage(code), code)
    assert.equal(normaliseLanguage('ast'), 'ast')
    assert.equal(normaliseLanguage('hbs'), 'hbs')
    assert.equal(normaliseLanguage('sh'), 'hbs', 'the retired 639-1 code of Serbo-Croatian')
  })

  it('trims whitespace around a code', () => {
    assert.equal(normaliseLanguage('  eng\t'), 'en')
  })

  it('refuses what is not a known code: unknown, upper case, regions, names, shell text', () => {
    for (const code of ['xx', 'zzz', 'EN', 'En', 'en-US', 'en_us', 'english', 'e', '', '   ', 'en; rm -rf /', 'e n', '-en', 'constructor', '__proto__', 'toString']) {
      assert.equal(normaliseLanguage(code), undefined, JSON.stringify(code))
    }
  })
})

describe('languageName', () => {
  it('names canonical codes and echoes unknown ones', () => {
    assert.equal(languageName('fr'), 'French')
    assert.equal(languageName('qqq'), 'qqq')
  })
})
