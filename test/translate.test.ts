import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { binaryInstalled } from '../src/engines/transcribe/installed.ts'
import { loggerOptions } from '../src/http/logger.ts'
import { PASSWORD, startApp, testConfig, type Session, type TestApp } from './helpers/app.ts'
import { backends } from './helpers/db.ts'
import { runTympan } from './helpers/cli.ts'
import { memoryLog } from './helpers/log.ts'

const apertiumMissing = await binaryInstalled('apertium', 'apertium') ? false : 'apertium is not installed'
const unsafe = (s: Session) => ({ cookie: s.cookie, 'x-csrf-token': s.csrfToken })

for (const backend of await backends()) {
  describe(`text translation through the API (${backend.name})`, { skip: backend.skip || apertiumMissing }, () => {
    let t: TestApp
    let key: string
    let session: Session
    let userId: string
    const log = memoryLog()
    const translate = (payload: unknown, headers: Record<string, string> = { 'x-api-key': key }) =>
      t.app.inject({ method: 'POST', url: '/api/v1/translate', headers, payload: payload as Record<string, unknown> })
    const logRows = () => t.testDb.db.kysely.selectFrom('translation_logs').selectAll().where('user_id', '=', userId).orderBy('created_at').execute()

    before(async () => {
      t = await startApp(backend.name, {}, { ...(loggerOptions(testConfig()) as Record<string, unknown>), level: 'debug', stream: log.stream })
      const user = await t.createUser()
      userId = user.id
      session = await t.login(user.email)
      key = await t.apiKey(session, ['translate'])
    })
    after(() => t.close())

    it('translates en → es directly and fr → en through es, normalising the codes, and logs without the text', async () => {
      const direct = await translate({ source_lang: 'eng', target_lang: 'spa', text: '  The weather is very nice today.  ' })
      assert.equal(direct.statusCode, 200, direct.body)
      assert.deepEqual(direct.json(), { translation: 'El tiempo es muy bueno hoy.', source_lang: 'en', target_lang: 'es', engine: 'apertium', route: ['en', 'es'] })
      const pivot = await translate({ source_lang: 'fr', target_lang: 'en', text: 'Le chat est sur la table.' })
      assert.equal(pivot.statusCode, 200, pivot.body)
      assert.deepEqual(pivot.json(), { translation: 'The cat is on the table.', source_lang: 'fr', target_lang: 'en', engine: 'apertium', route: ['fr', 'es', 'en'] })

      const rows = await logRows()
      assert.deepEqual(rows.map((r) => [r.source_lang, r.target_lang, r.route, r.characters, r.status, r.text]), [
        ['en', 'es', ['en', 'es'], 31, 'ok', null],
        ['fr', 'en', ['fr', 'es', 'en'], 25, 'ok', null]
      ])
      assert.ok(rows.every((r) => r.duration_ms > 0))
      const logged = log.lines.join('\n')
      for (const words of ['weather is very nice', 'chat est sur', 'El tiempo', 'The cat is']) assert.ok(!logged.includes(words), `the server log holds "${words}"`)
    })

    it('translates text that looks like options, shell, markup, SSML or control characters as text', async () => {
      const res = await translate({ source_lang: 'en', target_lang: 'es', text: '-h --help; rm -rf / <speak><break time="1s"/></speak> [a] ^b$ \u0007 the dog' })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.json().translation, '-h --Ayuda; rm -rf / <habla><tiempo de pausa="1s"/></habla> [un] ^b$ \u0007 el perro')
    })

    // The CLI is the same client on either database: one backend is enough.
    if (backend.name === 'pglite') it('serves tympan translate-text --server', async () => {
      await t.app.listen({ host: '127.0.0.1', port: 0 })
      const server = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', TYMPAN_API_KEY: key }
      const ok = await runTympan(['translate-text', '--from', 'fr', '--to', 'en', '--json', '--server', server, '-'], { env, cwd: t.config.dataDir, input: 'Le chat est noir.\n' })
      assert.equal(ok.code, 0, ok.stderr)
      assert.deepEqual(JSON.parse(ok.stdout), { translation: 'The cat is black.', source_lang: 'fr', target_lang: 'en', engine: 'apertium', route: ['fr', 'es', 'en'] })
      const refused = await runTympan(['translate-text', '--from', 'en', '--to', 'de', '--server', server, 'hello'], { env, cwd: t.config.dataDir })
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /translation failed: 422 No installed pair or route translates English \(en\) into German \(de\)/)
      assert.ok(!refused.stderr.includes(key), 'the key never appears in a message')
    })

    it('lists the pairs and the routes through pivots', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/translate/languages', headers: { 'x-api-key': key } })
      assert.equal(res.statusCode, 200)
      const { pairs, routes } = res.json() as { pairs: { from: string, to: string, mode: string }[], routes: { from: string, to: string, via: string[] }[] }
      assert.ok(pairs.some((p) => p.from === 'en' && p.to === 'es' && p.mode === 'eng-spa'))
      assert.deepEqual(routes.find((r) => r.from === 'fr' && r.to === 'en'), { from: 'fr', to: 'en', via: ['es'] })
      const engines = await t.app.inject({ method: 'GET', url: '/api/v1/engines', headers: unsafe(session) })
      const apertium = (engines.json().engines as { name: string, available: boolean, languages?: string[] }[]).find((e) => e.name === 'apertium')
      assert.equal(apertium?.available, true)
      assert.ok(apertium.languages?.includes('es'))
    })

    it('refuses every bad input with a clear 422 naming the field, and logs nothing', async () => {
      const before = (await logRows()).length
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ source_lang: 'en', target_lang: 'es', text: '' }, 'body.text', /fewer than 1 characters/],
        [{ source_lang: 'en', target_lang: 'es', text: ' \n\t ' }, 'text', /text is empty/],
        [{ source_lang: 'en', target_lang: 'es', text: 'a'.repeat(5001) }, 'text', /5001 characters long after trimming; the limit is 5000/],
        [{ source_lang: 'en', target_lang: 'es', text: 'a'.repeat(10_001) }, 'body.text', /more than 10000 characters/],
        [{ source_lang: 'en', target_lang: 'es', text: 'cut\u0000short' }, 'text', /NUL/],
        [{ source_lang: 'xx', target_lang: 'es', text: 'hello' }, 'source_lang', /ISO 639-1 or 639-3 code/],
        [{ source_lang: 'en', target_lang: 'en; rm -rf /', text: 'hello' }, 'body.target_lang', /more than 5 characters/],
        [{ source_lang: 'en', target_lang: 'EN-us', text: 'hello' }, 'target_lang', /ISO 639-1 or 639-3 code/],
        [{ source_lang: 'eng', target_lang: 'en', text: 'hello' }, 'target_lang', /same language \(en\)/],
        [{ source_lang: 'en', target_lang: 'de', text: 'hello' }, 'target_lang', /No installed pair or route translates English \(en\) into German \(de\)\. From en: ca, es, .*Installed pairs: .*en-es/],
        [{ source_lang: 'de', target_lang: 'en', text: 'hallo' }, 'source_lang', /No installed pair translates from German \(de\)/],
        [{ source_lang: 'en', target_lang: 'es', text: 'hello', engine: 'google' }, 'body.engine', /not an allowed field/]
      ]
      for (const [payload, field, detail] of cases) {
        const res = await translate(payload)
        assert.equal(res.statusCode, 422, `${JSON.stringify(payload).slice(0, 80)}: ${res.body.slice(0, 300)}`)
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
        assert.equal(res.json().field, field, res.body.slice(0, 300))
        assert.match(res.json().detail, detail)
      }
      const unsupported = await translate({ source_lang: 'en', target_lang: 'de', text: 'hello' })
      assert.ok((unsupported.json().targets as string[]).includes('es'))
      assert.ok((unsupported.json().pairs as string[]).includes('en-es'))
      assert.equal((await logRows()).length, before)
    })

    it('needs a credential (401) and the translate permission (403 for a viewer and for a key without it)', async () => {
      const anonymous = await t.app.inject({ method: 'POST', url: '/api/v1/translate', payload: { source_lang: 'en', target_lang: 'es', text: 'hi' } })
      assert.equal(anonymous.statusCode, 401)
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/translate/languages' })).statusCode, 401)
      const viewer = await t.login((await t.createUser('viewer')).email)
      const byViewer = await translate({ source_lang: 'en', target_lang: 'es', text: 'hi' }, unsafe(viewer))
      assert.equal(byViewer.statusCode, 403)
      assert.match(byViewer.json().detail, /translate/)
      const jobsOnly = await t.apiKey(session, ['jobs:read', 'jobs:write'])
      assert.equal((await translate({ source_lang: 'en', target_lang: 'es', text: 'hi' }, { 'x-api-key': jobsOnly })).statusCode, 403)
    })

    it('exports the log with the account', async () => {
      const exported = await t.app.inject({ method: 'GET', url: '/api/v1/me/export', headers: { cookie: session.cookie } })
      assert.equal(exported.statusCode, 200)
      const translations = exported.json().translations as { sourceLang: string, targetLang: string, route: string[], status: string, text: string | null }[]
      assert.deepEqual(translations.slice(0, 2).map((r) => [r.sourceLang, r.targetLang, r.route, r.status, r.text]), [
        ['en', 'es', ['en', 'es'], 'ok', null],
        ['fr', 'en', ['fr', 'es', 'en'], 'ok', null]
      ])
    })

    it('sweeps rows older than TRANSLATION_LOG_RETENTION_DAYS', async () => {
      const rows = await logRows()
      const newest = rows.at(-1)!.created_at.getTime()
      assert.equal((await t.app.container.retention.sweep(new Date(newest + 29 * 86_400_000))).expiredTranslationLogs, 0)
      assert.equal((await t.app.container.retention.sweep(new Date(newest + 31 * 86_400_000))).expiredTranslationLogs, rows.length)
      assert.deepEqual(await logRows(), [])
    })

    it('erases the log with the account', async () => {
      await t.app.container.repos.translationLogs.insert({ userId, sourceLang: 'en', targetLang: 'es', route: ['en', 'es'], characters: 5, durationMs: 300, status: 'ok', text: null })
      assert.equal((await logRows()).length, 1)
      const erased = await t.app.inject({ method: 'DELETE', url: '/api/v1/me/data', headers: unsafe(session), payload: { password: PASSWORD } })
      assert.equal(erased.statusCode, 204)
      assert.deepEqual(await logRows(), [])
    })
  })
}

// Once, on the embedded database: the SQL is the same on both, and each app costs a start-up.
describe('the translation log with TRANSLATION_LOG_TEXT=true', { skip: apertiumMissing }, () => {
  let t: TestApp
  before(async () => { t = await startApp('pglite', { TRANSLATION_LOG_TEXT: 'true', FILE_RETENTION_HOURS: '1', TRANSLATION_LOG_RETENTION_DAYS: '2' }) })
  after(() => t.close())

  it('keeps the trimmed text, shows it in the admin export, clears it after FILE_RETENTION_HOURS and drops the row after the log retention', async () => {
    const user = await t.createUser()
    const key = await t.apiKey(await t.login(user.email), ['translate'])
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/translate', headers: { 'x-api-key': key }, payload: { source_lang: 'en', target_lang: 'es', text: ' Good morning. ' } })
    assert.equal(res.statusCode, 200, res.body)
    const rows = () => t.testDb.db.kysely.selectFrom('translation_logs').select(['text', 'created_at']).where('user_id', '=', user.id).execute()
    assert.deepEqual((await rows()).map((r) => r.text), ['Good morning.'])

    const admin = await t.login((await t.createUser('admin')).email)
    const exported = await t.app.inject({ method: 'GET', url: `/api/v1/admin/users/${user.id}/export`, headers: { cookie: admin.cookie } })
    assert.equal(exported.statusCode, 200)
    assert.deepEqual((exported.json().translations as { text: string }[]).map((r) => r.text), ['Good morning.'])

    const created = (await rows())[0]!.created_at.getTime()
    await t.app.container.retention.sweep(new Date(created + 30 * 60_000))
    assert.deepEqual((await rows()).map((r) => r.text), ['Good morning.'], 'kept within FILE_RETENTION_HOURS')
    await t.app.container.retention.sweep(new Date(created + 2 * 3_600_000))
    assert.deepEqual((await rows()).map((r) => r.text), [null], 'the text goes after FILE_RETENTION_HOURS, the row stays')
    const report = await t.app.container.retention.sweep(new Date(created + 3 * 86_400_000))
    assert.equal(report.expiredTranslationLogs, 1)
    assert.deepEqual(await rows(), [])
  })
})
