import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { EngineStatus } from '../../engines/engine.ts'
import { HttpProblem } from '../../http/problem.ts'
import { checkTranslate, type TranslateCheckDeps } from './jobs.checks.ts'

const pairs = [{ from: 'en', to: 'es', mode: 'eng-spa' }, { from: 'es', to: 'en', mode: 'spa-eng' }, { from: 'es', to: 'pt', mode: 'es-pt' }, { from: 'fr', to: 'es', mode: 'fr-es' }]
const pocketsphinx: EngineStatus = { name: 'pocketsphinx', available: true, package: 'pocketsphinx', languages: ['en'] }

function deps (overrides: Partial<TranslateCheckDeps> = {}): TranslateCheckDeps {
  return {
    pairs: async () => pairs,
    recogniser: async (engine) => (engine === 'pocketsphinx' ? pocketsphinx : undefined),
    voices: async () => [{ id: 'espeak:es', engine: 'espeak-ng', language: 'es', description: 'Spanish' }, { id: 'flite:rms', engine: 'flite', language: 'en-us', description: 'US English' }],
    ...overrides
  }
}

/** The refusal's field and message, or the result when there is none. */
async function refusal (params: Parameters<typeof checkTranslate>[0], d = deps()) {
  try {
    return await checkTranslate(params, 'pocketsphinx', d)
  } catch (error) {
    assert.ok(error instanceof HttpProblem && error.status === 422, String(error))
    return { field: error.extra.field, message: error.message }
  }
}

describe('translate job: create-time checks', () => {
  it('accepts a reachable target, direct or through a pivot, and answers canonical codes', async () => {
    assert.deepEqual(await refusal({ target_lang: 'spa' }), { source: 'en', target: 'es' })
    assert.deepEqual(await refusal({ target_lang: 'pt', source_lang: 'eng' }), { source: 'en', target: 'pt' })
  })

  it('refuses an unknown code, the same language, and a target with no route, naming what is reachable', async () => {
    assert.equal((await refusal({ target_lang: 'xx' }) as { field: string }).field, 'params.target_lang')
    assert.equal((await refusal({ target_lang: 'es', source_lang: 'qqq' }) as { field: string }).field, 'params.source_lang')
    assert.match((await refusal({ target_lang: 'en' }) as { message: string }).message, /same language \(en\)/)
    const noRoute = await refusal({ target_lang: 'de' }) as { field: string, message: string }
    assert.equal(noRoute.field, 'params.target_lang')
    assert.match(noRoute.message, /from English \(en\) into German \(de\): English \(en\) translates into es, pt\. Installed pairs: en-es, es-en, es-pt, fr-es/)
  })

  it('refuses a source the recogniser does not hear, unless the recogniser is not installed (the job names the package)', async () => {
    const french = await refusal({ target_lang: 'es', source_lang: 'fr' }) as { field: string, message: string }
    assert.deepEqual(french, { field: 'params.source_lang', message: 'No installed recogniser hears French (fr): pocketsphinx knows en' })
    assert.deepEqual(await refusal({ target_lang: 'es', source_lang: 'fr', engine: 'whisper' }), { source: 'fr', target: 'es' })
  })

  it('refuses an unknown voice, a voice of another language, a target nobody speaks, and a voice without speak', async () => {
    const unknown = await refusal({ target_lang: 'es', speak: true, voice: 'nobody' }) as { field: string, message: string }
    assert.equal(unknown.field, 'params.voice')
    assert.match(unknown.message, /^params\.voice: Unknown voice "nobody"; available: /)
    assert.equal((await refusal({ target_lang: 'es', speak: true, voice: 'flite:rms' }) as { field: string }).field, 'params.target_lang')
    const mute = await refusal({ target_lang: 'pt', speak: true }) as { field: string, message: string }
    assert.deepEqual([mute.field, /No voice speaks "pt"/.test(mute.message)], ['params.target_lang', true])
    assert.deepEqual(await refusal({ target_lang: 'pt' }), { source: 'en', target: 'pt' }, 'without speak no voice is needed')
    assert.deepEqual(await refusal({ target_lang: 'es', speak: true, voice: 'nova' }), { source: 'en', target: 'es' }, 'an OpenAI name works in any language')
    assert.equal((await refusal({ target_lang: 'es', voice: 'espeak:es' }) as { field: string }).field, 'params.voice')
    assert.deepEqual(await refusal({ target_lang: 'pt', speak: true }, deps({ voices: async () => undefined })), { source: 'en', target: 'pt' }, 'speech not installed: the job names the package')
  })
})
