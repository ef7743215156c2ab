import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { allRoutes, findRoute, languagesOf, MAX_HOPS, parseModes, resolveLanguage, targetsFrom, type Pair } from './routes.ts'

// `apertium -l` on the Debian install Tympan's set-up makes (scripts/lib.sh).
const LISTING = fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'apertium-l.txt'), 'utf8')
const pair = (from: string, to: string): Pair => ({ from, to, mode: `${from}-${to}` })

describe('parseModes', () => {
  const pairs = parseModes(LISTING)

  it('reads the default directions, canonical codes, named by their mode', () => {
    assert.deepEqual(pairs.map((p) => `${p.from}>${p.to}:${p.mode}`), [
      'ca>en:cat-eng', 'en>ca:eng-cat', 'en>es:eng-spa', 'en>gl:en-gl', 'es>en:spa-eng', 'es>fr:es-fr',
      'es>it:spa-ita', 'es>pt:es-pt', 'fr>es:fr-es', 'gl>en:gl-en', 'it>es:ita-spa', 'pt>es:pt-es'
    ])
  })

  it('leaves out variants and modes that are not a language pair', () => {
    const modes = pairs.map((p) => p.mode)
    for (const skipped of ['eng-cat_valencia', 'spa-eng_US', 'es-pt_BR', 'eco-fr-es', 'eco-es-fr']) {
      assert.ok(LISTING.includes(skipped), `the fixture lists ${skipped}`)
      assert.ok(!modes.includes(skipped), skipped)
    }
  })

  it('prefers the mode named by ISO 639-3 codes when two translate the same way', () => {
    assert.deepEqual(parseModes('  en-es\n  eng-spa\n'), [{ from: 'en', to: 'es', mode: 'eng-spa' }])
    assert.deepEqual(parseModes('  eng-spa\n  en-es\n'), [{ from: 'en', to: 'es', mode: 'eng-spa' }])
  })

  it('keeps a code the table does not know, as Apertium names it', () => {
    assert.deepEqual(parseModes('  xyz-eng\n  eng-eng\n'), [{ from: 'xyz', to: 'en', mode: 'xyz-eng' }])
  })

  it('reads nothing from an empty listing or from junk', () => {
    assert.deepEqual(parseModes(''), [])
    assert.deepEqual(parseModes('Error: something\n  -rf\n  en-\n  en-es-fr\n'), [])
  })
})

describe('routes', () => {
  const pairs = parseModes(LISTING)

  it('prefers a direct pair', () => {
    assert.deepEqual(findRoute(pairs, 'en', 'es'), ['en', 'es'])
    assert.deepEqual(findRoute(pairs, 'es', 'en'), ['es', 'en'])
  })

  it('pivots where no pair is direct: fr → es → en', () => {
    assert.deepEqual(findRoute(pairs, 'fr', 'en'), ['fr', 'es', 'en'])
    assert.deepEqual(findRoute(pairs, 'ca', 'fr'), ['ca', 'en', 'es', 'fr'])
  })

  it('finds the shortest path even when a longer one comes first alphabetically', () => {
    const graph = [pair('a', 'b'), pair('b', 'c'), pair('c', 'd'), pair('a', 'z'), pair('z', 'd')]
    assert.deepEqual(findRoute(graph, 'a', 'd'), ['a', 'z', 'd'])
    assert.deepEqual(findRoute([...graph, pair('a', 'd')], 'a', 'd'), ['a', 'd'])
  })

  it('is the same route whatever order the pairs come in', () => {
    const graph = [pair('a', 'm'), pair('a', 'b'), pair('m', 'd'), pair('b', 'd')]
    assert.deepEqual(findRoute(graph, 'a', 'd'), ['a', 'b', 'd'])
    assert.deepEqual(findRoute([...graph].reverse(), 'a', 'd'), ['a', 'b', 'd'])
  })

  it('has no route to the same language, to an unknown one, or past MAX_HOPS', () => {
    assert.equal(findRoute(pairs, 'en', 'en'), undefined)
    assert.equal(findRoute(pairs, 'en', 'de'), undefined)
    assert.equal(findRoute(pairs, 'de', 'en'), undefined)
    const chain = 'abcdefg'.split('')
    const line = chain.slice(1).map((to, i) => pair(chain[i]!, to))
    assert.deepEqual(findRoute(line, 'a', chain[MAX_HOPS]!), chain.slice(0, MAX_HOPS + 1))
    assert.equal(findRoute(line, 'a', chain[MAX_HOPS + 1]!), undefined)
  })

  it('lists every reachable direction with its pivots; on the stock install every language reaches every other', () => {
    const routes = allRoutes(pairs)
    const languages = languagesOf(pairs)
    assert.deepEqual(languages, ['ca', 'en', 'es', 'fr', 'gl', 'it', 'pt'])
    assert.equal(routes.length, languages.length * (languages.length - 1))
    assert.deepEqual(routes.find((r) => r.from === 'fr' && r.to === 'en'), { from: 'fr', to: 'en', via: ['es'] })
    assert.deepEqual(routes.find((r) => r.from === 'en' && r.to === 'es'), { from: 'en', to: 'es', via: [] })
    assert.deepEqual(targetsFrom(pairs, 'pt'), ['ca', 'en', 'es', 'fr', 'gl', 'it'])
    assert.deepEqual(targetsFrom([pair('a', 'b')], 'b'), [])
  })
})

describe('resolveLanguage', () => {
  const pairs = [...parseModes(LISTING), { from: 'xyz', to: 'en', mode: 'xyz-eng' }]

  it('normalises known codes and accepts an installed pair\'s own code', () => {
    assert.equal(resolveLanguage(pairs, 'fra'), 'fr')
    assert.equal(resolveLanguage(pairs, ' xyz '), 'xyz')
    assert.equal(resolveLanguage(pairs, 'xx'), undefined)
    assert.equal(resolveLanguage(pairs, 'XYZ'), undefined)
  })
})
