import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { buildApp } from '../src/app.ts'
import { backends, openTestDb, type TestDb } from './helpers/db.ts'
import { PASSWORD, startApp, testConfig, uniqueEmail, type Session, type TestApp } from './helpers/app.ts'
import { multipart, readFixture } from './helpers/audio.ts'

const LOGIN = '/api/v1/auth/login'
const ONE_MIB = 1024 * 1024

function assertProblem (res: LightMyRequestResponse, status: number) {
  assert.equal(res.statusCode, status, res.body)
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
  const body = res.json()
  assert.equal(body.status, status)
  assert.equal(typeof body.title, 'string')
  assert.equal(typeof body.detail, 'string')
  assert.equal(body.requestId, res.headers['x-request-id'])
  return body as { status: number, detail: string, errors?: { field: string, message: string }[] }
}

/** Row counts of every table a request could change. */
async function snapshot (t: TestApp) {
  const db = t.testDb.db.kysely
  const count = async (table: 'users' | 'sessions' | 'refresh_tokens' | 'api_keys' | 'audit_log' | 'login_failures') =>
    Number((await db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n)
  const users = await db.selectFrom('users').select(['id', 'role', 'tier', 'disabled', 'updated_at']).orderBy('id').execute()
  return {
    users,
    sessions: await count('sessions'),
    refreshTokens: await count('refresh_tokens'),
    apiKeys: await count('api_keys'),
    audit: await count('audit_log'),
    loginFailures: await count('login_failures')
  }
}

/** Runs the request and asserts that nothing in the database changed. */
async function unchanged (t: TestApp, request: InjectOptions): Promise<LightMyRequestResponse> {
  const before = await snapshot(t)
  const res = await t.app.inject(request)
  assert.deepEqual(await snapshot(t), before, `state changed after ${request.method} ${request.url} → ${res.statusCode}`)
  return res
}

for (const backend of await backends()) {
  describe(`bad input (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let email: string
    let admin: Session
    let adminKey: string

    before(async () => {
      t = await startApp(backend.name)
      email = (await t.createUser('member')).email
      const adminUser = await t.createUser('admin')
      admin = await t.login(adminUser.email)
      adminKey = await t.apiKey(admin, ['admin'])
    })
    after(() => t?.close())

    const login = (payload: string, contentType = 'application/json'): InjectOptions =>
      ({ method: 'POST', url: LOGIN, headers: { 'content-type': contentType }, payload })

    it('answers malformed JSON with 400', async () => {
      for (const payload of ['{', '{"email": "a@example.test",}', "{'email': 'x'}", '{"email": "a"} trailing']) {
        const body = assertProblem(await unchanged(t, login(payload)), 400)
        assert.match(body.detail, /JSON/)
      }
    })

    it('answers application/json with an empty body with 400', async () => {
      assertProblem(await unchanged(t, login('')), 400)
      assertProblem(await unchanged(t, { method: 'POST', url: '/api/v1/auth/refresh', headers: { 'content-type': 'application/json' }, payload: '' }), 400)
    })

    it('answers a body over 1 MiB with 413', async () => {
      const payload = JSON.stringify({ email, password: 'x'.repeat(ONE_MIB) })
      assert.ok(Buffer.byteLength(payload) > ONE_MIB)
      assertProblem(await unchanged(t, login(payload)), 413)
      // The same on an authenticated route.
      const res = await unchanged(t, {
        method: 'POST',
        url: '/api/v1/admin/users',
        headers: { 'x-api-key': adminKey, 'content-type': 'application/json' },
        payload: JSON.stringify({ email: uniqueEmail(), password: 'y'.repeat(ONE_MIB + 10), role: 'member' })
      })
      assertProblem(res, 413)
    })

    it('answers an unknown field with 422 naming it', async () => {
      const body = assertProblem(await unchanged(t, login(JSON.stringify({ email, password: PASSWORD, role: 'admin' }))), 422)
      assert.equal(body.errors?.[0]?.field, 'body.role')
      assert.match(body.detail, /role/)

      // Mass assignment on an admin route: is_service is an internal column.
      const created = await unchanged(t, {
        method: 'POST',
        url: '/api/v1/admin/users',
        headers: { 'x-api-key': adminKey },
        payload: { email: uniqueEmail(), password: PASSWORD, role: 'member', is_service: true }
      })
      assert.equal(assertProblem(created, 422).errors?.[0]?.field, 'body.is_service')
    })

    it('answers wrong types with 422, without coercing them', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ email: 123, password: PASSWORD }, 'body.email'],
        [{ email, password: PASSWORD, tokens: 'true' }, 'body.tokens'],
        [{ email, password: PASSWORD, tokens: 1 }, 'body.tokens'],
        [{ email: [email], password: PASSWORD }, 'body.email'],
        [{ email, password: null }, 'body.password']
      ]
      for (const [payload, field] of cases) {
        const body = assertProblem(await unchanged(t, login(JSON.stringify(payload))), 422)
        assert.equal(body.errors?.[0]?.field, field, JSON.stringify(payload))
      }
      for (const payload of ['null', '[]', '"text"', '42']) {
        assertProblem(await unchanged(t, login(payload)), 422)
      }
      // A string where an admin route wants a boolean is not read as true.
      const target = await t.createUser('viewer')
      const res = await unchanged(t, {
        method: 'PATCH',
        url: `/api/v1/admin/users/${target.id}`,
        headers: { 'x-api-key': adminKey },
        payload: { disabled: 'true' }
      })
      assert.equal(assertProblem(res, 422).errors?.[0]?.field, 'body.disabled')
    })

    it('refuses text/plain, forms and look-alike JSON types with 415 before any handler runs', async () => {
      const valid = JSON.stringify({ email, password: PASSWORD })
      for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/jsonx', 'application/json-patch+json', 'text/json',
        'application/x-www-form-urlencoded', 'multipart/form-data; boundary=----x', 'application/json, text/plain']) {
        assertProblem(await unchanged(t, login(valid, type)), 415)
      }
      // A valid session cookie and CSRF token do not make text/plain acceptable either.
      const res = await unchanged(t, {
        method: 'POST',
        url: '/api/v1/keys',
        headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken, 'content-type': 'text/plain' },
        payload: JSON.stringify({ name: 'sneaky', scopes: ['admin'] })
      })
      assertProblem(res, 415)
    })

    it('never lets an odd JSON Content-Type skip validation', async () => {
      const odd = ['application/json ; charset=utf-8', 'APPLICATION/JSON', 'Application/Json; Charset=UTF-8', 'application/json;charset=utf-8;foo=bar',
        'application/json;', ' application/json', 'application/json\t', 'application/json; charset="utf-8"']
      for (const type of odd) {
        // Whatever the server makes of the type, a body with an extra field must not get through.
        const extra = await unchanged(t, login(JSON.stringify({ email, password: PASSWORD, role: 'admin' }), type))
        assert.ok([415, 422].includes(extra.statusCode), `${JSON.stringify(type)}: ${extra.statusCode} ${extra.body}`)
        assertProblem(extra, extra.statusCode)
        const wrongType = await unchanged(t, login(JSON.stringify({ email, password: PASSWORD, tokens: 'true' }), type))
        assert.ok([415, 422].includes(wrongType.statusCode), `${JSON.stringify(type)}: ${wrongType.statusCode} ${wrongType.body}`)

        const created = await unchanged(t, {
          method: 'POST',
          url: '/api/v1/admin/users',
          headers: { 'x-api-key': adminKey, 'content-type': type },
          payload: JSON.stringify({ email: uniqueEmail(), password: PASSWORD, role: 'member', disabled: false })
        })
        assert.ok([415, 422].includes(created.statusCode), `${JSON.stringify(type)}: ${created.statusCode} ${created.body}`)

        // A valid body is either parsed and served normally, or refused with a 4xx.
        const ok = await t.app.inject(login(JSON.stringify({ email, password: PASSWORD }), type))
        if (ok.statusCode === 200) assert.equal(ok.json().user.email, email)
        else assertProblem(ok, ok.statusCode)
        assert.ok(ok.statusCode === 200 || (ok.statusCode >= 400 && ok.statusCode < 500), `${JSON.stringify(type)}: ${ok.statusCode}`)
      }
    })

    it('refuses a file name over 1 KiB with 400, by multipart and tus, before storing anything', async () => {
      const member = await t.createUser('member')
      const key = await t.apiKey(await t.login(member.email), ['files:read', 'files:write'])
      const name = `${'a'.repeat(8000)}.mp3`
      const form = multipart({ file: { filename: name, content: readFixture('mp3'), contentType: 'audio/mpeg' } })
      const started = performance.now()
      const upload = await t.app.inject({ method: 'POST', url: '/api/v1/files', headers: { 'x-api-key': key, 'content-type': form.contentType }, payload: form.body })
      const body = assertProblem(upload, 400)
      assert.equal(body.detail, 'The file name is too long: 8004 bytes of UTF-8, the limit is 1024')
      assert.ok(performance.now() - started < 2000, 'refused without working on the name')

      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/uploads',
        headers: { 'x-api-key': key, 'tus-resumable': '1.0.0', 'upload-length': '1000', 'upload-metadata': `filename ${Buffer.from(name).toString('base64')}` }
      })
      assert.equal(created.statusCode, 400, created.body)
      assert.match(created.body, /file name is too long/)
      assert.equal(created.headers.location, undefined)

      assert.deepEqual((await t.app.inject({ url: '/api/v1/files', headers: { 'x-api-key': key } })).json().items, [])
      const metrics = await t.app.inject({ url: '/metrics', headers: { 'x-api-key': adminKey } })
      assert.match(metrics.body, /tympan_upload_rejections_total\{reason="name"\} 2\n/)
    })
  })

  describe(`server errors and readiness (${backend.name})`, { skip: backend.skip }, () => {
    let app: FastifyInstance
    let testDb: TestDb

    before(async () => {
      testDb = await openTestDb(backend.name)
      app = await buildApp({ config: testConfig(), db: testDb.db })
      const open = { config: { auth: { public: true as const } } }
      app.get('/boom', open, () => { throw new Error('SELECT secret FROM users WHERE path = \'/etc/passwd\'') })
      app.get('/boom-db', open, async () => sql`SELECT secret_column FROM no_such_table_here`.execute(testDb.db.kysely))
      app.get('/boom-status', open, () => { throw Object.assign(new Error('upstream at /srv/tympan/engine.ts:42 said no'), { statusCode: 502 }) })
      app.get('/boom-async', open, async () => { await Promise.resolve(); throw new TypeError("Cannot read properties of undefined (reading 'password_hash')") })
      await app.ready()
    })
    after(async () => {
      await app?.close()
      await testDb?.close()
    })

    for (const [url, leaks] of [
      ['/boom', ['SELECT', 'secret', '/etc/passwd']],
      ['/boom-db', ['no_such_table_here', 'secret_column', 'relation', 'SELECT']],
      ['/boom-status', ['/srv/tympan', 'engine.ts', 'upstream']],
      ['/boom-async', ['password_hash', 'TypeError', 'undefined']]
    ] as const) {
      it(`answers ${url} with a generic 5xx problem that carries the request id and no internals`, async () => {
        const res = await app.inject(url)
        assert.ok(res.statusCode >= 500 && res.statusCode < 600, `${res.statusCode}`)
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
        const body = res.json()
        assert.equal(body.status, res.statusCode)
        assert.equal(body.requestId, res.headers['x-request-id'])
        assert.match(body.requestId, /^[0-9a-f-]{36}$/)
        for (const leak of [...leaks, ' at ', '.ts:', 'node_modules', 'stack']) {
          assert.ok(!res.body.includes(leak), `5xx body leaks ${JSON.stringify(leak)}: ${res.body}`)
        }
        assert.deepEqual(Object.keys(body).sort(), ['detail', 'requestId', 'status', 'title', 'type'])
      })
    }
  })

  describe(`readiness without a database (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    before(async () => { t = await startApp(backend.name) })
    after(() => t?.close())

    it('answers /readyz with 503 problem+json once the database is gone, while /healthz stays up', async () => {
      assert.equal((await t.app.inject('/readyz')).statusCode, 200)
      await t.testDb.db.close()
      const res = await t.app.inject('/readyz')
      const body = assertProblem(res, 503)
      assert.equal(res.headers['retry-after'], '5')
      assert.doesNotMatch(body.detail, /pool|destroy|pglite|postgres/i)
      assert.equal((await t.app.inject('/healthz')).statusCode, 200)
    })
  })
}
