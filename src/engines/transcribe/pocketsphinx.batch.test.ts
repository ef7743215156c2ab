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
  it('asks for CTM with posteriors and keeps silence frames so times stay true', () => {
    const args = batchArgs({ model: { language: 'en', name: 'en-us', hmm: '/m/en-us', lm: '/m/en-us.lm.bin', dict: '/m/d.dict' }, cepdir: '/w/seg', ctl: '/w/b.ctl', ctm: '/w/b.ctm' })
    const flag = (name: string) => args[args.indexOf(name) + 1]
    assert.equal(flag('-remove_silence'), 'no')
    assert.equal(flag('-bestpath'), 'yes')
    assert.equal(flag('-adcin'), 'yes')
    assert.equal(flag('-ctm'), '/w/b.ctm')
  })

  it('recognises the per-utterance log line', () => {
    assert.equal(finishedUtterance('INFO: batch.c(762): s00003: 0.36 xRT (CPU), 0.37 xRT (elapsed)'), 's00003')
    assert.equal(finishedUtterance('INFO: ngram_search.c(870): bestpath 0.01 CPU 0.001 xRT'), undefined)
  })
})
