import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { batchArgs, finishedUtterance, parseCtm, planBatches } from './pocketsphinx.batch.ts'

describe('planBatches', () => {
  it('keeps neighbours together and balances by length', () => {
    assert.deepEqual(planBatches([10, 10, 10, 10], 2), [[0, 1], [2, 3]])
    assert.deepEqual(planBatches([30, 1, 1, 1], 2), [[0], [1, 2, 3]])
    assert.deepEqual(planBatches([5, 5], 4), [[0], [1]])
    assert.deepEqual(planBatches([5, 5, 5], 1), [[0, 1, 2]])
    assert.deepEqual(planBatches([], 2), [])
    assert.deepEqual(planBatches([0, 0], 2), [[0, 1]])
  })
})

describe('parseCtm', () => {
  it('reads times and posteriors and drops fillers and pronunciation numbers', () => {
    // Lines as pocketsphinx_batch -ctm wrote them for the LibriVox test utterance 0880.
    const ctm = [
      's00000 1 0.21 0.11 he 0.999',
      's00000 1 0.33 0.21 was(2) 1.000',
      's00000 1 0.55 0.50 <sil> 0.5',
      's00000 1 1.05 0.10 [NOISE] 0.5',
      's00001 1 0.20 0.16 and 0.272',
      ''
    ].join('\n')
    const parsed = parseCtm(ctm)
    assert.deepEqual(parsed.get('s00000'), [
      { word: 'he', start: 0.21, end: 0.32, confidence: 0.999 },
      { word: 'was', start: 0.33, end: 0.54, confidence: 1 }
    ])
    assert.equal(parsed.get('s00001')?.[0]?.confidence, 0.272)
  })
})

describe('batchArgs and finishedUtterance', () => {
  const model = { language: 'en', name: 'en-us', hmm: '/m/en-us', lm: '/m/en-us.lm.bin', dict: '/m/d.dict' }
  const argsOf = (quality: 'fast' | 'accurate') => batchArgs({ model, cepdir: '/w/seg', ctl: '/w/b.ctl', ctm: '/w/b.ctm', quality })
  const flagOf = (args: string[]) => (name: string) => args.includes(name) ? args[args.indexOf(name) + 1] : undefined

  it('asks for CTM with posteriors and keeps silence frames so times stay true, at either quality', () => {
    for (const quality of ['fast', 'accurate'] as const) {
      const flag = flagOf(argsOf(quality))
      assert.equal(flag('-remove_silence'), 'no')
      assert.equal(flag('-bestpath'), 'yes', 'confidences are lattice posteriors')
      assert.equal(flag('-adcin'), 'yes')
      assert.equal(flag('-ctm'), '/w/b.ctm')
    }
  })

  it('gives no flag twice: pocketsphinx refuses to start on a duplicate', () => {
    for (const quality of ['fast', 'accurate'] as const) {
      const names = argsOf(quality).filter((a, i) => i % 2 === 0)
      assert.ok(names.every((n) => n.startsWith('-')), 'flags and values alternate')
      assert.equal(new Set(names).size, names.length)
    }
  })

  it('searches as measured: both without the flat pass and with capped HMMs, fast also on every other frame', () => {
    const names = ['-fwdflat', '-maxhmmpf', '-topn', '-ds', '-maxwpf', '-pl_window', '-beam']
    assert.deepEqual(names.map(flagOf(argsOf('fast'))), ['no', '3000', '2', '2', '5', '10', undefined])
    assert.deepEqual(names.map(flagOf(argsOf('accurate'))), ['no', '3000', '2', undefined, undefined, undefined, undefined])
  })

  it('recognises the per-utterance log line', () => {
    assert.equal(finishedUtterance('INFO: batch.c(762): s00003: 0.36 xRT (CPU), 0.37 xRT (elapsed)'), 's00003')
    assert.equal(finishedUtterance('INFO: ngram_search.c(870): bestpath 0.01 CPU 0.001 xRT'), undefined)
  })
})
