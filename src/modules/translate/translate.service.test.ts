import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { TranslationLog } from '../../db/schema.ts'
import { EngineError } from '../../engines/engine.ts'
import { allRoutes, findRoute, parseModes, type Translator } from '../../engines/translate/index.ts'
import { HttpProblem } from '../../http/problem.ts'
import { principal } from '../../testing/fakes.ts'
import type { NewTranslationLog, TranslationLogsRepository } from './translate.repository.ts'
import { translationService } from './translate.service.ts'

const PAIRS = parseModes('  eng-spa\n  spa-eng\n  fr-es\n  es-fr\n  cat-eng\n')
const signal = new AbortController().signal

const problem = (status: number, field: string | undefined, detail: RegExp) => (error: unknown) => {
  assert.ok(error instanceof HttpProblem, `expected an HttpProblem, got ${String(error)}`)
  assert.equal(error.status, status)
  assert.equal(error.extra.field, field)
  assert.match(error.message, detail)
  return true
}

/** A translator over fixed pairs that upper-cases, recording what it was asked; `fail` makes it throw. */
function fakeTranslator (fail?: EngineError) {
  const calls: { text: string, from: string, to: string }[] = []
  const translator: Pick<Translator, 'languages' | 'translate'> = {
    languages: async () => ({ pairs: PAIRS, routes: allRoutes(PAIRS) }),
    async translate (text, from, to) {
      calls.push({ text, from, to })
      if (fail) throw fail
      return { translation: text.toUpperCase(), route: findRoute(PAIRS, from, to)! }
    }
  }
  return { translator, calls }
}

function fakeLogs () {
  const rows: (NewTranslationLog & { createdAt: Date })[] = []
  const expired: [Date, Date][] = []
  const logs: Pick<TranslationLogsRepository, 'insert' | 'listForUser' | 'deleteForUser' | 'expire'> = {
    async insert (row) { rows.push({ ...row, createdAt: new Date('2026-01-01T00:00:00Z') }) },
    async listForUser (userId) {
      return rows.filter((r) => r.userId === userId).map((r, i): TranslationLog => ({
        id: `id-${i}`, user_id: r.userId, source_lang: r.sourceLang, target_lang: r.targetLang, route: r.route, characters: r.characters,
        duration_ms: r.durationMs, status: r.status, text: r.text, created_at: r.createdAt
      }))
    },
    async deleteForUser (userId) {
      const before = rows.length
      for (let i = rows.length - 1; i >= 0; i--) if (rows[i]!.userId === userId) rows.splice(i, 1)
      return before - rows.length
    },
    async expire (textBefore, rowsBefore) { expired.push([textBefore, rowsBefore]); return 0 }
  }
  return { logs, rows, expired }
}

function setup (options: { logText?: boolean, fail?: EngineError } = {}) {
  const { translator, calls } = fakeTranslator(options.fail)
  const { logs, rows, expired } = fakeLogs()
  let now = 1000
  const service = translationService({
    translator, logs, logText: options.logText ?? false, logRetentionDays: 30, textRetentionHours: 24, clock: () => (now += 7)
  })
  return { service, calls, rows, expired }
}

describe('translation service', () => {
  it('translates with normalised codes, answers the route, and logs the request without its text', async () => {
    const { service, calls, rows } = setup()
    const alice = principal()
    const reply = await service.translate(alice, { source_lang: 'fra', target_lang: 'eng', text: '  Le chat.  ' }, signal)
    assert.deepEqual(reply, { translation: 'LE CHAT.', source_lang: 'fr', target_lang: 'en', engine: 'apertium', route: ['fr', 'es', 'en'] })
    assert.deepEqual(calls, [{ text: 'Le chat.', from: 'fr', to: 'en' }])
    assert.deepEqual(rows.map(({ createdAt: _, ...row }) => row), [{
      userId: alice.userId, sourceLang: 'fr', targetLang: 'en', route: ['fr', 'es', 'en'], characters: 8, durationMs: 7, status: 'ok', text: null
    }])
  })

  it('keeps the text in the log only when TRANSLATION_LOG_TEXT is on', async () => {
    const { service, rows } = setup({ logText: true })
    await service.translate(principal(), { source_lang: 'en', target_lang: 'es', text: ' Hello ' }, signal)
    assert.equal(rows[0]!.text, 'Hello')
  })

  it('counts characters as code points', async () => {
    const { service, rows } = setup()
    await service.translate(principal(), { source_lang: 'en', target_lang: 'es', text: '😀 ok' }, signal)
    assert.equal(rows[0]!.characters, 4)
  })

  it('refuses bad codes, the same language, and empty, overlong or NUL-holding texts, naming the field and logging nothing', async () => {
    const { service, calls, rows } = setup()
    const ask = (source_lang: string, target_lang: string, text = 'hello') => service.translate(principal(), { source_lang, target_lang, text }, signal)
    await assert.rejects(ask('xx', 'en'), problem(422, 'source_lang', /ISO 639-1 or 639-3 code/))
    await assert.rejects(ask('en', 'EN'), problem(422, 'target_lang', /ISO 639-1 or 639-3 code/))
    await assert.rejects(ask('en', 'en; r'), problem(422, 'target_lang', /ISO 639/))
    await assert.rejects(ask('eng', 'en'), problem(422, 'target_lang', /same language \(en\)/))
    await assert.rejects(ask('en', 'es', ' \n\t '), problem(422, 'text', /empty/))
    await assert.rejects(ask('en', 'es', 'a'.repeat(5001)), problem(422, 'text', /5001 characters long after trimming; the limit is 5000/))
    await assert.rejects(ask('en', 'es', 'a\u0000b'), problem(422, 'text', /NUL/))
    await service.translate(principal(), { source_lang: 'en', target_lang: 'es', text: ` ${'a'.repeat(5000)} ` }, signal)
    assert.equal(calls.length, 1, 'only the 5000-character text reached the engine')
    assert.equal(rows.length, 1)
  })

  it('refuses an unsupported pair naming the targets the source reaches and the installed pairs', async () => {
    const { service, calls } = setup()
    await assert.rejects(service.translate(principal(), { source_lang: 'en', target_lang: 'de', text: 'hello' }, signal), (error: unknown) => {
      problem(422, 'target_lang', /No installed pair or route translates English \(en\) into German \(de\)\. From en: es, fr\. Installed pairs: ca-en, en-es, es-en, es-fr, fr-es\./)(error)
      assert.deepEqual((error as HttpProblem).extra.targets, ['es', 'fr'])
      assert.deepEqual((error as HttpProblem).extra.pairs, ['ca-en', 'en-es', 'es-en', 'es-fr', 'fr-es'])
      return true
    })
    await assert.rejects(service.translate(principal(), { source_lang: 'de', target_lang: 'en', text: 'hallo' }, signal), problem(422, 'source_lang', /No installed pair translates from German \(de\)/))
    assert.equal(calls.length, 0)
  })

  it('logs a failed translation and answers 503 without the engine\'s internals', async () => {
    const { service, rows } = setup({ fail: new EngineError('transient', 'apertium failed (exit code 1)') })
    await assert.rejects(service.translate(principal(), { source_lang: 'en', target_lang: 'es', text: 'hello' }, signal), problem(503, undefined, /^The translation engine failed; try again$/))
    assert.deepEqual(rows.map((r) => r.status), ['failed'])
    const missing = setup({ fail: new EngineError('missing-engine', 'apertium is not installed: install the Debian package apertium.') })
    await assert.rejects(missing.service.translate(principal(), { source_lang: 'en', target_lang: 'es', text: 'hello' }, signal), problem(503, undefined, /install the Debian package apertium/))
  })

  it('exports and erases a user\'s log, and only theirs', async () => {
    const { service, rows } = setup({ logText: true })
    const alice = principal()
    const bob = principal()
    await service.translate(alice, { source_lang: 'en', target_lang: 'es', text: 'one' }, signal)
    await service.translate(bob, { source_lang: 'es', target_lang: 'en', text: 'dos' }, signal)
    const exported = await service.personalData.export(alice.userId) as { text: string, route: string[] }[]
    assert.deepEqual(exported.map((r) => [r.text, r.route]), [['one', ['en', 'es']]])
    await service.personalData.erase(alice.userId)
    assert.deepEqual(rows.map((r) => r.userId), [bob.userId])
  })

  it('sweeps kept texts after the file retention and rows after the log retention', async () => {
    const { service, expired } = setup()
    await service.sweep(new Date('2026-02-01T00:00:00Z'))
    assert.deepEqual(expired, [[new Date('2026-01-31T00:00:00Z'), new Date('2026-01-02T00:00:00Z')]])
  })
})
