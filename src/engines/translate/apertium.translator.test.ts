import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EngineError } from '../engine.ts'
import { createApertiumTranslator } from './apertium.translator.ts'
import { binaryInstalled } from '../transcribe/installed.ts'

const signal = new AbortController().signal
const apertiumMissing = await binaryInstalled('apertium', 'apertium') ? false : 'apertium is not installed'
const invalid = (pattern: RegExp) => (error: unknown) => error instanceof EngineError && error.kind === 'invalid-input' && pattern.test(error.message)

// What the Debian pairs answer today, checked by reading them: Apertium is rule-based and
// deterministic, so a change here means the pair (or our stream handling) changed.
const SOURCES: Record<string, string[]> = {
  en: ['The weather is very nice today.', 'I would like to buy a new house.', 'Where is the train station?'],
  es: ['El tiempo es muy agradable hoy.', 'Me gustaría comprar una casa nueva.', '¿Dónde está la estación de tren?'],
  fr: ['Le temps est très beau aujourd\'hui.', 'Je voudrais acheter une nouvelle maison.', 'Où est la gare ?'],
  ca: ['El temps és molt agradable avui.', 'M\'agradaria comprar una casa nova.', 'On és l\'estació de tren?'],
  gl: ['O tempo é moi agradable hoxe.', 'Gustaríame mercar unha casa nova.', 'Onde está a estación de tren?'],
  pt: ['O tempo está muito agradável hoje.', 'Eu gostaria de comprar uma casa nova.', 'Onde fica a estação de comboios?'],
  it: ['Il tempo è molto bello oggi.', 'Vorrei comprare una casa nuova.', 'Dov\'è la stazione dei treni?']
}
const EXPECTED: Record<string, string[]> = {
  'ca>en': ['The time is very pleasant today.', 'It would like me buy a new home.', 'Where it is the train station?'],
  'en>ca': ['Els temps són molt bons avui.', 'M\'agradaria comprar una casa nova.', 'On és l\'estació de tren?'],
  'en>es': ['El tiempo es muy bueno hoy.', 'Me gustaría comprar una casa nueva.', 'Dónde es la canal de tren?'],
  'en>gl': ['O tempo é moi agradábel hoxe.', 'Gostaríame comprar unha casa nova.', 'Onde é a estación de tren?'],
  'es>en': ['The time is very pleasant today.', 'It would like me buy a new house.', 'Where it is the station of train?'],
  'es>fr': ['Le temps est très plaisant aujourd\'hui.', 'Il me plairait acheter une maison nouvelle.', 'Où Il est la gare de train?'],
  'es>it': ['La meteo è molto carina oggi.', 'Mi piacerebbe comprare una casa nuova.', '¿Dove sta la stagione di treno?'],
  'es>pt': ['O tempo é muito agradável hoje.', 'Gostaria de comprar uma casa nova.', 'Onde está a estação de comboio?'],
  'fr>es': ['El tiempo es muy hermoso hoy.', 'Querría comprar una nueva casa.', 'Donde es la estación ?'],
  'gl>en': ['The time is very pleasant today.', 'It Would like to buy a new house.', 'Where is the station of train?'],
  'it>es': ['El tiempo es muy bonito hoy.', 'Querría comprar una casa nueva.', 'Dónde es la estación de los trenes?'],
  'pt>es': ['El tiempo está muy agradable hoy.', 'Yo me gustaría comprar una casa nueva.', 'Donde queda la estación de trenes?']
}

describe('Apertium translator', { skip: apertiumMissing }, () => {
  const translator = createApertiumTranslator()

  it('lists the installed pairs and the routes through pivots', async () => {
    const { pairs, routes } = await translator.languages()
    assert.ok(pairs.some((p) => p.from === 'en' && p.to === 'es' && p.mode === 'eng-spa'))
    assert.deepEqual(routes.find((r) => r.from === 'fr' && r.to === 'en')?.via, ['es'])
    assert.deepEqual(await translator.route('fra', 'eng'), ['fr', 'es', 'en'])
    assert.equal(await translator.route('en', 'xx'), undefined)
    const status = await translator.status()
    assert.equal(status.available, true)
    assert.match(status.version ?? '', /^\d+\.\d+/)
    assert.ok(status.languages?.includes('en') && status.languages.includes('es'))
  })

  it('translates fixed sentences the way each installed pair does', async () => {
    const { pairs } = await translator.languages()
    const checked = pairs.filter((p) => EXPECTED[`${p.from}>${p.to}`])
    assert.ok(checked.length > 0, 'at least one recorded pair is installed')
    for (const { from, to } of checked) {
      const { translations, route } = await translator.translateMany(SOURCES[from]!, from, to, { signal })
      assert.deepEqual(route, [from, to])
      assert.deepEqual(translations, EXPECTED[`${from}>${to}`], `${from}>${to}`)
    }
  })

  it('pivots fr → es → en and says so in the route', async () => {
    const result = await translator.translate('Le chat est sur la table.', 'fra', 'eng', { signal })
    assert.deepEqual(result, { translation: 'The cat is on the table.', route: ['fr', 'es', 'en'] })
  })

  it('translates text that looks like options, shell, markup or stream syntax as text', async () => {
    const texts = [
      '-h --help',
      '; rm -rf /',
      'The <b>red</b> car and <speak><break time="1s"/></speak>',
      'a [b] c \\ d ^e$ f @g #h *i / {j} ~k',
      'tab\there \x01 and \x07 bell',
      'The dog.\n\nThe cat.'
    ]
    const { translations } = await translator.translateMany(texts, 'en', 'es', { signal })
    assert.deepEqual(translations, [
      '-h --Ayuda',
      '; rm -rf /',
      'El <b>rojo</b> coche y <hablar><tiempo de pausa="1s"/></habla>',
      'Un [b] c \\ d ^e$ f @g #h *i / {j} ~k',
      'Tabulador\taquí \x01 y \x07 timbre',
      'El perro.\n\nEl gato.'
    ])
  })

  it('keeps a batch apart: same count, same order, no word crossing into the next segment', async () => {
    const texts = ['I have a cat', '', 'the red', 'car is fast.', '   ', 'Hello world']
    const { translations } = await translator.translateMany(texts, 'en', 'es', { signal })
    assert.deepEqual(translations, ['Tengo un gato', '', 'El rojo', 'Automovilístico es rápidamente.', '', 'Hola Mundo'])
  })

  it('refuses what it cannot translate, before running anything', async () => {
    await assert.rejects(translator.translate('hello', 'xx', 'en', { signal }), invalid(/source language/))
    await assert.rejects(translator.translate('hello', 'en', 'en; rm -rf /', { signal }), invalid(/target language/))
    await assert.rejects(translator.translate('hello', 'eng', 'en', { signal }), invalid(/same/))
    await assert.rejects(translator.translate('hello', 'en', 'de', { signal }), invalid(/No installed Apertium pair translates English into German/))
    await assert.rejects(translator.translate('   ', 'en', 'es', { signal }), invalid(/empty/))
    await assert.rejects(translator.translate('a'.repeat(5001), 'en', 'es', { signal }), invalid(/5001 characters/))
    await assert.rejects(translator.translate('cut\u0000here', 'en', 'es', { signal }), invalid(/NUL/))
    await assert.rejects(translator.translateMany(['fine', 'a\u0000b'], 'en', 'es', { signal }), invalid(/NUL/))
  })

  it('stops at once when the signal is aborted', async () => {
    const abort = new AbortController()
    abort.abort()
    await assert.rejects(translator.translate('hello', 'en', 'es', { signal: abort.signal }), (error: unknown) => error instanceof EngineError && error.kind === 'canceled')
  })

  it('reports a missing binary as a missing engine', async () => {
    const missing = createApertiumTranslator({ bin: 'apertium-not-installed-here' })
    const status = await missing.status()
    assert.equal(status.available, false)
    assert.match(status.detail ?? '', /install the Debian package apertium/)
    await assert.rejects(missing.translate('hello', 'en', 'es', { signal }), (error: unknown) => error instanceof EngineError && error.kind === 'missing-engine')
  })
})
