import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import {
  authFailureForAudit, bearerSecretMatcher, createMetrics, rejectedFor, uploadRejectionReason, UPLOAD_REJECTION_REASONS
} from '../src/observability/metrics.ts'
import { badRequest, HttpProblem, unprocessable } from '../src/http/problem.ts'
import { ImportError } from '../src/modules/files/import/import-error.ts'
import { StagingLimitError } from '../src/modules/files/staging.ts'
import { backends } from './helpers/db.ts'
import { startApp, testSecret, type Session, type TestApp } from './helpers/app.ts'
import { readFixture } from './helpers/audio.ts'

/** The value of one series in a Prometheus text exposition (undefined: no such series). */
function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]))
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3])
  }
  return undefined
}

function assertProblem (res: LightMyRequestResponse, status: number) {
  assert.equal(res.statusCode, status, res.body)
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
  assert.equal(res.json().status, status)
}

describe('metrics: reasons and credentials (unit)', () => {
  it('maps each refusal to its reason from a small fixed set', () => {
    const cases: [unknown, string | undefined][] = [
      [rejectedFor('magic', new HttpProblem(415, 'Unsupported Media Type', 'not MP3')), 'magic'],
      [rejectedFor('duration', unprocessable('too long')), 'duration'],
      [rejectedFor('quota', new HttpProblem(413, 'Content Too Large', 'quota')), 'quota'],
      [new ImportError('address', '10.0.0.1 is not public'), 'import_address'],
      [new ImportError('timeout', 'slow'), 'import_timeout'],
      [new ImportError('too_large', 'big'), 'size'],
      [new ImportError('network', 'down'), 'import_other'],
      [new ImportError('scheme', 'ftp'), 'import_other'],
      [new StagingLimitError(10), 'size'],
      [Object.assign(new Error('parts'), { code: 'FST_PARTS_LIMIT' }), 'multipart'],
      [Object.assign(new Error('bad'), { code: 'FST_INVALID_MULTIPART_CONTENT_TYPE', statusCode: 406 }), 'multipart'],
      [new HttpProblem(413, 'Content Too Large', 'big'), 'size'],
      [badRequest('an unmarked refusal'), 'other'],
      [Object.assign(new Error('client'), { statusCode: 400 }), 'other'],
      [new HttpProblem(500, 'Internal Server Error', 'disk'), undefined],
      [new Error('ENOSPC'), undefined],
      ['a string', undefined],
      [undefined, undefined]
    ]
    for (const [error, reason] of cases) {
      const got = uploadRejectionReason(error)
      assert.equal(got, reason, String((error as Error | undefined)?.message ?? error))
      if (got) assert.ok((UPLOAD_REJECTION_REASONS as readonly string[]).includes(got))
    }
  })

  it('the mark changes nothing a client sees', () => {
    const plain = unprocessable('The file is empty', { field: 'file' })
    const marked = rejectedFor('decode', unprocessable('The file is empty', { field: 'file' }))
    assert.deepEqual({ ...marked }, { ...plain })
    assert.equal(JSON.stringify(marked), JSON.stringify(plain))
    assert.deepEqual(marked.extra, { field: 'file' })
    assert.ok(marked instanceof HttpProblem)
  })

  it('maps audited refusals to auth failure reasons, and nothing else', () => {
    assert.equal(authFailureForAudit('auth.login.failure'), 'login_failure')
    assert.equal(authFailureForAudit('auth.login.locked'), 'lockout')
    assert.equal(authFailureForAudit('auth.csrf.failure'), 'csrf')
    assert.equal(authFailureForAudit('authz.denied'), 'forbidden')
    assert.equal(authFailureForAudit('auth.refresh.reuse_detected'), 'refresh_reuse')
    assert.equal(authFailureForAudit('auth.password.change_failed'), 'reauth_failure')
    assert.equal(authFailureForAudit('user.erase_failed'), 'reauth_failure')
    for (const action of ['auth.login.success', 'file.uploaded', 'toString', '__proto__', '']) assert.equal(authFailureForAudit(action), undefined, action)
  })

  it('accepts exactly the bearer secret, and nothing when no secret is set', () => {
    const secret = testSecret()
    const matches = bearerSecretMatcher(secret)
    assert.ok(matches({ authorization: `Bearer ${secret}` }))
    assert.ok(matches({ authorization: `bearer ${secret}` }))
    for (const authorization of [undefined, '', 'Bearer', `Bearer ${secret}x`, `Bearer ${secret.slice(1)}`, `Basic ${secret}`, `Bearer ${secret} extra`, secret]) {
      assert.ok(!matches({ authorization }), String(authorization))
    }
    const none = bearerSecretMatcher('')
    for (const authorization of [undefined, '', 'Bearer ', 'Bearer x']) assert.ok(!none({ authorization }), String(authorization))
  })

  it('keeps one registry per app, with every reason series present from the start', async () => {
    const a = createMetrics()
    const b = createMetrics()
    a.authFailure('invalid_key')
    a.rateLimitHit('uploads')
    assert.equal(a.uploadRefused(new HttpProblem(500, 'Internal Server Error', 'x')), undefined)
    const textA = await a.registry.metrics()
    const textB = await b.registry.metrics()
    assert.equal(sample(textA, 'tympan_auth_failures_total', { reason: 'invalid_key' }), 1)
    assert.equal(sample(textB, 'tympan_auth_failures_total', { reason: 'invalid_key' }), 0)
    assert.equal(sample(textA, 'tympan_rate_limit_hits_total', { limit: 'uploads' }), 1)
    assert.equal(sample(textB, 'tympan_rate_limit_hits_total', { limit: 'requests' }), 0)
    for (const reason of UPLOAD_REJECTION_REASONS) assert.equal(sample(textA, 'tympan_upload_rejections_total', { reason }), 0, reason)
    assert.ok(sample(textB, 'process_cpu_user_seconds_total') !== undefined)
  })
})

for (const backend of await backends()) {
  describe(`GET /metrics refusals do not flood the audit log (${backend.name})`, { skip: backend.skip }, () => {
    const lines: Record<string, unknown>[] = []
    let t: TestApp

    before(async () => {
      t = await startApp(backend.name, { METRICS_TOKEN: testSecret() }, { level: 'warn', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } })
    })
    after(() => t?.close())

    it('150 denied calls with a viewer\'s key: one authz.denied row per minute, the rest counted in the log and a summary row', async () => {
      const viewer = await t.createUser('viewer')
      const key = await t.apiKey(await t.login(viewer.email), ['files:read'])
      const keyId = key.split('_').slice(0, 2).join('_')
      const started = Date.now()
      for (let i = 0; i < 150; i++) assertProblem(await t.app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': key } }), 403)
      const minutes = Math.floor(Date.now() / 60_000) - Math.floor(started / 60_000) + 1
      const rows = (action: string) => t.testDb.db.kysely.selectFrom('audit_log').selectAll()
        .where('action', '=', action).where('actor_key_id', '=', keyId).orderBy('id').execute()
      const denied = await rows('authz.denied')
      assert.ok(denied.length >= 1 && denied.length <= minutes, `${denied.length} rows over ${minutes} minute(s)`)
      assert.deepEqual(denied[0]!.detail, { reason: 'Missing permission admin' })
      assert.equal(denied[0]!.actor_user_id, viewer.id)
      const counted = await t.app.metrics.registry.getSingleMetricAsString('tympan_auth_failures_total')
      assert.match(counted, /reason="forbidden"\} 150$/m, 'every denial is still counted in the metrics')

      // The counts are written when the minute is over; at the latest when the server stops.
      await t.app.close()
      const summaries = await rows('authz.denied.suppressed')
      const suppressed = summaries.reduce((sum, row) => sum + Number((row.detail as { suppressed: number }).suppressed), 0)
      assert.equal(denied.length + suppressed, 150)
      assert.deepEqual(Object.keys(summaries[0]!.detail as object).sort(), ['from', 'reason', 'subject', 'suppressed', 'to'])
      assert.equal((summaries[0]!.detail as { subject: string }).subject, `api_key:${keyId}`)
      const logged = lines.filter((line) => line.action === 'authz.denied' && line.subject === `api_key:${keyId}`)
      assert.equal(logged.reduce((sum, line) => sum + Number(line.suppressed), 0), suppressed)
    })
  })

  describe(`GET /metrics (${backend.name})`, { skip: backend.skip }, () => {
    const token = testSecret()
    let t: TestApp
    let admin: Session
    let member: Session
    let memberKey: string

    const scrape = async () => {
      const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } })
      assert.equal(res.statusCode, 200, res.body)
      return res.body
    }

    before(async () => {
      t = await startApp(backend.name, { METRICS_TOKEN: token })
      admin = await t.login((await t.createUser('admin')).email)
      member = await t.login((await t.createUser('member', { tier: 'premium' })).email)
      memberKey = await t.apiKey(member, ['files:read', 'files:write'])
    })
    after(() => t?.close())

    it('answers 401 without credentials and with a wrong token', async () => {
      for (const headers of [{}, { authorization: `Bearer ${testSecret()}` }, { authorization: `Bearer ${token.slice(0, -1)}` }]) {
        const res = await t.app.inject({ method: 'GET', url: '/metrics', headers })
        assertProblem(res, 401)
        assert.match(String(res.headers['www-authenticate']), /^Bearer/)
        assert.doesNotMatch(res.body, /http_requests_total/)
      }
    })

    it('answers 403 to a member, session or key, and audits it', async () => {
      for (const headers of [{ cookie: member.cookie }, { 'x-api-key': memberKey }]) {
        const res = await t.app.inject({ method: 'GET', url: '/metrics', headers })
        assertProblem(res, 403)
        const row = await t.testDb.db.kysely.selectFrom('audit_log').selectAll()
          .where('request_id', '=', String(res.headers['x-request-id'])).executeTakeFirst()
        assert.equal(row?.action, 'authz.denied')
      }
    })

    it('serves an admin the Prometheus text with request counts by route pattern and process metrics', async () => {
      assert.equal((await t.app.inject('/healthz')).statusCode, 200)
      const id = randomUUID()
      assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/files/${id}`, headers: { 'x-api-key': memberKey } })).statusCode, 404)
      assert.equal((await t.app.inject(`/no/such/path/${id}`)).statusCode, 404)

      const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { cookie: admin.cookie } })
      assert.equal(res.statusCode, 200, res.body)
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/)
      assert.equal(res.headers['cache-control'], 'no-store')
      const text = res.body
      assert.ok((sample(text, 'http_requests_total', { method: 'GET', route: '/healthz', status: '200' }) ?? 0) >= 1, 'healthz counted')
      assert.ok((sample(text, 'http_requests_total', { method: 'GET', route: '/api/v1/files/:id', status: '404' }) ?? 0) >= 1, 'counted by pattern')
      assert.ok((sample(text, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }) ?? 0) >= 1, 'unmatched')
      assert.ok((sample(text, 'http_request_duration_seconds_count', { method: 'GET', route: '/healthz', status: '200' }) ?? 0) >= 1)
      assert.ok(!text.includes(id), 'no raw URL in any label')
      assert.ok(sample(text, 'process_cpu_user_seconds_total') !== undefined)
      assert.ok(sample(text, 'nodejs_eventloop_lag_seconds') !== undefined)
    })

    it('serves the METRICS_TOKEN bearer, and its own scrapes are counted', async () => {
      const first = await scrape()
      assert.match(first, /# TYPE http_requests_total counter/)
      const second = await scrape()
      const count = (text: string) => sample(text, 'http_requests_total', { method: 'GET', route: '/metrics', status: '200' }) ?? 0
      assert.ok(count(second) > count(first))
    })

    it('counts refused uploads and imports by reason', async () => {
      const before = await scrape()
      const upload = (name: string, bytes: Buffer) => {
        const form = new FormData()
        form.append('file', new Blob([new Uint8Array(bytes)]), name)
        return t.app.inject({ method: 'POST', url: '/api/v1/files', headers: { 'x-api-key': memberKey }, payload: form })
      }
      assertProblem(await upload('notes.txt', Buffer.from('hello')), 415)
      assertProblem(await upload('tone.mp3', readFixture('wav')), 415)
      assertProblem(await t.app.inject({ method: 'POST', url: '/api/v1/files', headers: { 'x-api-key': memberKey }, payload: { file: 'x' } }), 415)
      const imported = await t.app.inject({ method: 'POST', url: '/api/v1/files/import', headers: { 'x-api-key': memberKey }, payload: { url: 'https://127.0.0.1/tone.mp3' } })
      assertProblem(imported, 422)
      // tus refuses a declared size over the limit itself; it is counted all the same.
      const tus = (filename: string, length: number) => t.app.inject({
        method: 'POST',
        url: '/api/v1/uploads',
        headers: { 'x-api-key': memberKey, 'tus-resumable': '1.0.0', 'upload-length': String(length), 'upload-metadata': `filename ${Buffer.from(filename).toString('base64')}` }
      })
      assert.equal((await tus('big.wav', t.config.intake.maxFileBytes + 1)).statusCode, 413)
      assert.equal((await tus('run.sh', 1000)).statusCode, 415)

      const after = await scrape()
      const delta = (reason: string) =>
        (sample(after, 'tympan_upload_rejections_total', { reason }) ?? 0) - (sample(before, 'tympan_upload_rejections_total', { reason }) ?? 0)
      assert.equal(delta('extension'), 2)
      assert.equal(delta('size'), 1)
      assert.equal(delta('magic'), 1)
      assert.equal(delta('multipart'), 1)
      assert.equal(delta('import_address'), 1)
      assert.equal(delta('other'), 0)
      // The hijacked tus replies are timed like any other.
      assert.ok((sample(after, 'http_requests_total', { method: 'POST', route: '/api/v1/uploads', status: '413' }) ?? 0) >= 1)
    })

    it('counts failed sign-ins, bad keys and refused permissions', async () => {
      const before = await scrape()
      const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'nobody@example.test', password: 'not the password at all' } })
      assertProblem(login, 401)
      assertProblem(await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { 'x-api-key': 'tym_000000000000_nope' } }), 401)
      assertProblem(await t.app.inject({ method: 'GET', url: '/metrics', headers: { cookie: member.cookie } }), 403)

      const after = await scrape()
      const delta = (reason: string) =>
        (sample(after, 'tympan_auth_failures_total', { reason }) ?? 0) - (sample(before, 'tympan_auth_failures_total', { reason }) ?? 0)
      assert.equal(delta('login_failure'), 1)
      assert.equal(delta('invalid_key'), 1)
      assert.equal(delta('forbidden'), 1)
      // The scraper's own token is not a failure.
      assert.equal(delta('invalid_token'), 0)
    })
  })
}
