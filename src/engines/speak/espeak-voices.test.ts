import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseEspeakVoices } from './espeak-voices.ts'

// Lines as espeak-ng 1.51 (Debian 12) prints them with --voices.
const LISTING = `Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  af              --/M      Afrikaans          gmw/af
 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)
 5  en-us           --/M      English_(America)  gmw/en-US            (en 3)
 5  es-419          --/M      Spanish_(Latin_America) roa/es-419           (es-mx 6)
 5  fr-fr           --/M      French_(France)    roa/fr               (fr 5)
 5  yue             --/M      Chinese_(Cantonese) sit/yue              (zh-yue 5)(zh 8)
 5  yue             --/M      Chinese_(Cantonese,_latin_as_Jyutping) sit/yue-Latn-jyutping (zh-yue 5)(zh 8)
 5  chr-US-Qaaa-x-west --/M   Cherokee_          iro/chr
`

describe('parseEspeakVoices', () => {
  it('reads each language once, with its name and the other tags it answers to', () => {
    const voices = parseEspeakVoices(LISTING)
    assert.deepEqual(voices.map((v) => v.language), ['af', 'en-gb', 'en-us', 'es-419', 'fr-fr', 'yue', 'chr-us-qaaa-x-west'])
    assert.deepEqual(voices.find((v) => v.language === 'fr-fr'), { language: 'fr-fr', name: 'French (France)', aliases: ['fr'] })
    assert.deepEqual(voices.find((v) => v.language === 'yue')?.aliases, ['zh-yue', 'zh'])
    assert.equal(voices.find((v) => v.language === 'yue')?.name, 'Chinese (Cantonese)')
  })

  it('ignores lines that are not voices', () => {
    assert.deepEqual(parseEspeakVoices('Pty Language\n\n 5  --bad  --/M  X  f\n'), [])
  })
})
