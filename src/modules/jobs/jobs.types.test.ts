import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HttpProblem } from '../../http/problem.ts'
import { assertHandlers } from './jobs.handlers.ts'
import { JOB_TYPE_NAMES, parseParams, type JobType } from './jobs.types.ts'

describe('job type registry', () => {
  it('refuses to start when a job type has no handler', () => {
    const all = Object.fromEntries(JOB_TYPE_NAMES.map((type) => [type, async () => ({ result: null, artifacts: [] })]))
    assert.doesNotThrow(() => assertHandlers(all))
    const { transcribe: _dropped, ...partial } = all
    assert.throws(() => assertHandlers(partial), /job types without a handler: transcribe/)
    assert.throws(() => assertHandlers({ ...all, analyze: 'not a function' }), /analyze/)
  })

  it('checks params against the type\'s schema and names the field', () => {
    assert.deepEqual(parseParams('transcribe', { language: 'en' }), { language: 'en', wordTimestamps: true, quality: 'fast' })
    assert.equal(parseParams('transcribe', { quality: 'accurate' }).quality, 'accurate')
    assert.deepEqual(parseParams('analyze', undefined), {})
    const field = (type: JobType, params: unknown) => {
      try {
        parseParams(type, params)
      } catch (error) {
        assert.ok(error instanceof HttpProblem)
        assert.equal(error.status, 422)
        return error.extra.field
      }
      return undefined
    }
    assert.equal(field('transcribe', { language: 'EN' }), 'params.language')
    assert.equal(field('transcribe', { temperature: -1 }), 'params.temperature')
    assert.equal(field('transcribe', { engine: 'vosk' }), 'params.engine')
    assert.equal(field('transcribe', { prompt: 'x'.repeat(1001) }), 'params.prompt')
    assert.equal(field('transcribe', { quality: 'best' }), 'params.quality')
    assert.equal(field('translate', { target_lang: 'es', quality: 'slow' }), 'params.quality')
    assert.equal(field('analyze', { silenceThresholdDb: 3 }), 'params.silenceThresholdDb')
    assert.equal(field('analyze', { extra: true }), 'params.extra')
    assert.equal(field('analyze', { silenceThresholdDb: '-40' }), 'params.silenceThresholdDb', 'no type coercion')
    // PostgreSQL's jsonb cannot hold U+0000: a 422 here, not a 500 at the insert.
    assert.equal(field('transcribe', { prompt: 'hello\u0000world' }), 'params.prompt')
    assert.equal(field('speak', { text: 'a\u0000' }), 'params.text')
  })

  it('names the allowed values of a choice, not Ajv\'s "must be equal to constant"', () => {
    assert.throws(() => parseParams('transcribe', { quality: 'best' }), (error: unknown) => error instanceof HttpProblem && error.message === 'params.quality must be one of: "fast", "accurate"')
    assert.throws(() => parseParams('separate', { stems: 3 }), (error: unknown) => error instanceof HttpProblem && error.message === 'params.stems must be one of: 2, 4')
  })

  it('does not let a caller\'s object be changed by defaults', () => {
    const params = { language: 'en' }
    parseParams('transcribe', params)
    assert.deepEqual(params, { language: 'en' })
  })
})
