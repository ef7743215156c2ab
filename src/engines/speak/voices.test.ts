import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { planSpeech } from './speech-plan.ts'
import { NATURAL_VOICES, OPENAI_VOICES, OPENAI_VOICE_NAMES, VoiceError, catalogue, recipeOf, resolveVoice, type Installed } from './voices.ts'

const espeak = [
  { language: 'en-us', name: 'English (America)', aliases: ['en'] },
  { language: 'es', name: 'Spanish (Spain)', aliases: [] },
  { language: 'es-419', name: 'Spanish (Latin America)', aliases: ['es-mx'] },
  { language: 'fr-fr', name: 'French (France)', aliases: ['fr'] },
  { language: 'pt-br', name: 'Portuguese (Brazil)', aliases: [] }
]
const everything: Installed = { festivalVoices: ['cmu_us_slt_arctic_hts'], fliteVoices: ['kal', 'awb_time', 'kal16', 'awb', 'rms', 'slt'], espeak, pitchShift: true }
const voices = catalogue(everything)
const fails = (fn: () => unknown, field: string, message: RegExp) => assert.throws(fn, (error: unknown) => error instanceof VoiceError && error.field === field && message.test(error.message))

describe('the OpenAI voice names', () => {
  it('are the eleven of OpenAI, each on a distinct voice (engine, model or pitch) and a distinct espeak-ng variant', () => {
    assert.deepEqual(OPENAI_VOICE_NAMES, ['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'onyx', 'nova', 'sage', 'shimmer', 'verse'])
    const picks = Object.values(OPENAI_VOICES)
    const recipes = picks.map((p) => NATURAL_VOICES.find((v) => v.id === p.english)!)
    assert.equal(new Set(recipes.map((r) => `${r.engine}/${r.model}/${r.pitch}`)).size, 11)
    assert.equal(new Set(picks.map((p) => p.variant)).size, 11)
    for (const name of OPENAI_VOICE_NAMES) assert.equal(voices.filter((v) => v.openai?.includes(name)).length, 1, name)
  })

  it('pick festival\'s HTS voice by default, and espeak-ng with a variant in other languages', () => {
    assert.equal(resolveVoice(voices, {}), 'festival:slt-hts')
    assert.equal(resolveVoice(voices, { voice: 'alloy' }), 'festival:slt-hts')
    assert.equal(resolveVoice(voices, { voice: 'echo', language: 'en-US' }), 'flite:rms')
    assert.equal(resolveVoice(voices, { voice: 'nova', language: 'es' }), 'espeak:es+f2')
    assert.equal(resolveVoice(voices, { voice: 'onyx', language: 'fr' }), 'espeak:fr-fr+m6')
  })

  it('fall back to the installed voices when theirs is missing', () => {
    const fliteOnly = catalogue({ ...everything, festivalVoices: [], pitchShift: false })
    assert.equal(resolveVoice(fliteOnly, {}), 'flite:rms')
    assert.equal(resolveVoice(fliteOnly, { voice: 'alloy' }), 'flite:rms', 'a missing voice gives way to the best English one')
    assert.ok(!fliteOnly.some((v) => v.id === 'flite:rms-high'), 'no pitched voices without rubberband')
    const espeakOnly = catalogue({ ...everything, festivalVoices: [], fliteVoices: [] })
    assert.equal(resolveVoice(espeakOnly, { voice: 'sage' }), 'espeak:en-us+f3')
    assert.deepEqual(catalogue({ festivalVoices: [], fliteVoices: [], espeak: [], pitchShift: true }), [])
  })
})

describe('resolveVoice', () => {
  it('takes Tympan ids and finds a language by tag, alias or region', () => {
    assert.equal(resolveVoice(voices, { voice: 'flite:kal16' }), 'flite:kal16')
    assert.equal(resolveVoice(voices, { voice: 'espeak:es+m3' }), 'espeak:es+m3')
    assert.equal(resolveVoice(voices, { language: 'es-419' }), 'espeak:es-419')
    assert.equal(resolveVoice(voices, { language: 'es-mx' }), 'espeak:es-419')
    assert.equal(resolveVoice(voices, { language: 'pt' }), 'espeak:pt-br')
    assert.equal(resolveVoice(voices, { language: 'en-gb-scotland' }), 'flite:awb')
    assert.equal(resolveVoice(voices, { language: 'en-au' }), 'festival:slt-hts')
  })

  it('refuses unknown voices and languages, naming what there is', () => {
    fails(() => resolveVoice(voices, { voice: 'galadriel' }), 'voice', /Unknown voice "galadriel"; available: the OpenAI names alloy, .*; festival:slt-hts, .*flite:kal; espeak:<language> for 5 languages such as espeak:es/)
    fails(() => resolveVoice(voices, { voice: 'flite:rms+f2' }), 'voice', /Unknown voice/)
    fails(() => resolveVoice(voices, { voice: 'espeak:es+f2+m1' }), 'voice', /Unknown voice/)
    fails(() => resolveVoice(voices, { voice: 'espeak:es+croak' }), 'voice', /Unknown voice/)
    fails(() => resolveVoice(voices, { language: 'de' }), 'language', /No voice speaks "de"; installed languages: en, es, fr, pt/)
    fails(() => resolveVoice(voices, { voice: 'espeak:es', language: 'fr' }), 'language', /speaks es, not fr/)
  })

  it('makes recipes only of installed voices', () => {
    assert.deepEqual(recipeOf('flite:slt-low', voices), { id: 'flite:slt-low', engine: 'flite', language: 'en-us', model: 'slt', pitch: -3 })
    assert.deepEqual(recipeOf('espeak:fr-fr+m6', voices), { id: 'espeak:fr-fr+m6', engine: 'espeak-ng', language: 'fr-fr', model: 'fr-fr+m6', pitch: 0 })
    assert.equal(recipeOf('festival:slt-hts', catalogue({ ...everything, festivalVoices: [] })), undefined)
  })
})

describe('planSpeech', () => {
  it('judges speed and text in the voice that will read it', () => {
    assert.equal(planSpeech(voices, { text: 'Hello.', voice: 'shimmer', speed: 4 }).voice, 'flite:slt')
    fails(() => planSpeech(voices, { text: 'hi', speed: 4.5 }), 'speed', /0\.25 to 4/)
    fails(() => planSpeech(voices, { text: '你好' }), 'text', /nothing festival:slt-hts can speak/)
    fails(() => planSpeech(voices, { text: '¿?', language: 'es' }), 'text', /nothing to speak/)
    assert.equal(planSpeech(voices, { text: '¿Qué?', language: 'es' }).text, '¿Qué?')
  })
})
