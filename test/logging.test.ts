import assert from 'node:assert/strict'
import { memoryLog } from './helpers/log.ts'
import { after, before, describe, it } from 'node:test'
import { loggerOptions } from '../src/http/logger.ts'
import { backends } from './helpers/db.ts'
import { cookieHeader, cookiesFrom, PASSWORD, startApp, testConfig, type TestApp } from './helpers/app.ts'

const MB = 1024 * 1024

type Line = Record<string, unknown>

/** An app with the production logger writing to memory, and the request lines it wrote. */
async function loggedApp (backend: Parameters<typeof startApp>[0], overrides: Record<string, string> = {}) {
  const { lines, stream } = memoryLog()
  const logger = { ...(loggerOptions(testConfig()) as Record<string, unknown>), level: 'info', stream }
  const t = await startApp(backend, overrides, logger)
  const requestLines = async (): Promise<Line[]> => {
    await new Promise((resolve) => setImmediate(resolve))
    return lines.map((line) => JSON.parse(line) as Line).filter((line) => line.msg === 'request')
  }
  /** The one line of the request answered with this x-request-id (asserts there is exactly one). */
  const lineOf = async (res: { headers: Record<string, unknown> }): Promise<Line> => {
    const id = res.headers['x-request-id']
    assert.ok(typeof id === 'string', 'the answer carries x-request-id')
    const mine = (await requestLines()).filter((line) => line.reqId === id)
    assert.equal(mine.length, 1, `one request line for ${id}, got ${JSON.stringify(mine)}`)
    return mine[0] as Line
  }
  return { t, lines, requestLines, lineOf }
}

const metadataHeader = (metadata: Record<string, string>) =>
  Object.entries(metadata).map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`).join(',')

for (const backend of await backends()) {
  describe(`request log (${backend.name})`, { skip: backend.skip }, () => {
    let app: Awaited<ReturnType<typeof loggedApp>>
    before(async () => { app = await loggedApp(backend.name, { BODY_LIMIT_BYTES: '1024' }) })
    after(() => app?.t.close())

    it('writes one line per request, at completion, saying who called which route and how it ended', async () => {
      const { t, lines, lineOf } = app
      const user = await t.createUser('member')
      const session = await t.login(user.email)
      const key = await t.apiKey(session, ['files:read'])
      const keyId = `tym_${/^tym_([0-9a-f]{12})_/.exec(key)?.[1]}`

      lines.length = 0
      const res = await t.app.inject({ url: '/api/v1/me?x=1', headers: { 'x-api-key': key, 'user-agent': `agent/${'u'.repeat(1000)}` }, remoteAddress: '203.0.113.7' })
      assert.equal(res.statusCode, 200)
      const line = await lineOf(res)
      assert.equal(lines.length, 1, `nothing else is logged for a plain request: ${lines.join('\n')}`)
      assert.equal(line.level, 30)
      assert.equal(typeof line.time, 'number')
      assert.equal(line.method, 'GET')
      assert.equal(line.route, '/api/v1/me')
      assert.equal(line.url, '/api/v1/me?x=1')
      assert.equal(line.status, 200)
      assert.equal(typeof line.durationMs, 'number')
      assert.equal(line.userId, user.id)
      assert.equal(line.keyId, keyId)
      assert.equal(line.auth, 'api_key')
      assert.equal(line.ip, '203.0.113.7')
      assert.ok(String(line.userAgent).startsWith('agent/uuu') && String(line.userAgent).length < 300, 'the user agent is capped')
      assert.equal(line.bytes, Buffer.byteLength(res.body))

      const viaCookie = await t.app.inject({ url: '/api/v1/me', headers: { cookie: session.cookie } })
      const cookieLine = await lineOf(viaCookie)
      assert.equal(cookieLine.auth, 'session')
      assert.equal(cookieLine.userId, user.id)
      assert.equal(cookieLine.keyId, null)

      const missing = await t.app.inject({ url: `/no/such/${'p'.repeat(40)}`, headers: { 'x-api-key': key } })
      assert.equal(missing.statusCode, 404)
      const missingLine = await lineOf(missing)
      assert.equal(missingLine.route, 'unmatched')
      assert.equal(missingLine.status, 404)
    })

    it('logs no credential, however many a request carries', async () => {
      const { t, lines, lineOf } = app
      const user = await t.createUser('member')
      const session = await t.login(user.email)
      const key = await t.apiKey(session, ['files:read'])
      const querySecret = 'query-token-secret-0123456789'
      const bearer = 'tym_0123456789ab_bearersecretbearersecretbearersecretbearer0'
      lines.length = 0
      const res = await t.app.inject({
        url: `/api/v1/me?a=1&token=${querySecret}&b=2`,
        headers: { 'x-api-key': key, cookie: session.cookie, authorization: `Bearer ${bearer}`, 'x-csrf-token': session.csrfToken }
      })
      assert.equal(res.statusCode, 401)
      const line = await lineOf(res)
      assert.equal(line.url, '/api/v1/me?a=1&token=[REDACTED]&b=2')
      const text = lines.join('\n')
      for (const secret of [key, querySecret, bearer, session.csrfToken, ...Object.values(session.cookies)]) {
        if (secret.length < 12) continue
        assert.ok(!text.includes(secret), `${secret.slice(0, 6)}… reached the log: ${text}`)
      }
    })

    it('logs requests refused before the handler: 401 and 413', async () => {
      const { t, lineOf } = app
      const anonymous = await t.app.inject({ url: '/api/v1/files' })
      assert.equal(anonymous.statusCode, 401)
      const anonymousLine = await lineOf(anonymous)
      assert.equal(anonymousLine.route, '/api/v1/files')
      assert.equal(anonymousLine.auth, 'none')
      assert.equal(anonymousLine.userId, null)

      const tooLarge = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'x@example.test', password: 'p'.repeat(2000) } })
      assert.equal(tooLarge.statusCode, 413)
      assert.equal((await lineOf(tooLarge)).status, 413)
    })

    it('logs a hijacked reply (tus) once, with the status tus wrote', async () => {
      const { t, lineOf } = app
      const user = await t.createUser('member')
      const key = await t.apiKey(await t.login(user.email), ['files:write'])
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/uploads',
        headers: { 'x-api-key': key, 'tus-resumable': '1.0.0', 'upload-length': String(MB / 2), 'upload-metadata': metadataHeader({ filename: 'talk.mp3' }) }
      })
      assert.equal(res.statusCode, 201, res.body)
      const line = await lineOf(res)
      assert.equal(line.route, '/api/v1/uploads')
      assert.equal(line.status, 201)
      assert.equal(line.userId, user.id)
    })
  })

  describe(`log redaction (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    const { lines, stream } = memoryLog()
    // Everything secret this test sends or receives; none may reach the log.
    const secrets = new Set<string>()
    const QUERY_SECRET = 'querysecret0123456789abcdefghijklmnop'

    before(async () => {
      // The production redaction and serializers, only the destination and level changed.
      const logger = { ...(loggerOptions(testConfig()) as Record<string, unknown>), level: 'info', stream }
      t = await startApp(backend.name, {}, logger)
    })
    after(() => t?.close())

    it('logs requests without any credential, and marks what it removed', async () => {
      const user = await t.createUser('member')
      secrets.add(PASSWORD)

      // Browser sign-in: cookies and a CSRF token.
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD }, headers: { 'user-agent': 'log-test' } })
      assert.equal(res.statusCode, 200)
      const cookies = cookiesFrom(res)
      for (const value of Object.values(cookies)) secrets.add(value)
      secrets.add(res.json().csrfToken)
      const session = { cookie: cookieHeader(cookies), csrfToken: res.json().csrfToken as string, cookies }

      // Native sign-in: tokens in the body, then a bearer call and a refresh from the body.
      const native = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD, tokens: true } })
      assert.equal(native.statusCode, 200)
      const { accessToken, refreshToken } = native.json() as { accessToken: string, refreshToken: string }
      secrets.add(accessToken)
      secrets.add(refreshToken)
      assert.equal((await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${accessToken}` } })).statusCode, 200)
      const refreshed = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } })
      assert.equal(refreshed.statusCode, 200)
      secrets.add(refreshed.json().accessToken)
      secrets.add(refreshed.json().refreshToken)

      // API key, in both headers it is accepted from.
      const key = await t.apiKey({ cookie: session.cookie, csrfToken: session.csrfToken, cookies }, ['files:read'])
      secrets.add(key)
      assert.equal((await t.app.inject({ url: '/api/v1/me', headers: { 'x-api-key': key } })).statusCode, 200)
      assert.equal((await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${key}` } })).statusCode, 200)
      assert.equal((await t.app.inject({ url: '/api/v1/me', headers: { cookie: session.cookie } })).statusCode, 200)

      // Credentials in the query string are refused, and still kept out of the log.
      secrets.add(QUERY_SECRET)
      for (const name of ['api_key', 'apiKey', 'token', 'access_token', 'refresh_token', 'password', 'key']) {
        const query = await t.app.inject({ url: `/api/v1/me?x=1&${name}=${QUERY_SECRET}`, headers: { 'x-api-key': key } })
        assert.ok(query.statusCode >= 400 || name === 'refresh_token' || name === 'password', `${name}: ${query.statusCode}`)
      }

      // Failures: a wrong password (the attempted password is secret too), a bad bearer token.
      const wrong = 'the wrong but secret passphrase'
      secrets.add(wrong)
      assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: wrong } })).statusCode, 401)
      const forged = 'tympan_forgedkeyvalue0123456789abcdefghijklmn'
      secrets.add(forged)
      assert.equal((await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${forged}` } })).statusCode, 401)

      // A password change and a logout, which carry passwords and cookies.
      const next = 'another long test passphrase'
      secrets.add(next)
      const change = await t.app.inject({
        method: 'POST',
        url: '/api/v1/me/password',
        headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
        payload: { currentPassword: PASSWORD, newPassword: next }
      })
      assert.ok(change.statusCode < 500, change.body)
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } })

      await new Promise((resolve) => setImmediate(resolve))
      const text = lines.join('\n')
      assert.ok(lines.length >= 15, `only ${lines.length} log lines were captured`)
      for (const line of lines) JSON.parse(line)
      assert.match(text, /"url":"\/api\/v1\/me"/)
      for (const secret of secrets) {
        assert.ok(secret.length >= 12)
        assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 6)}…) reached the log:\n${lines.find((l) => l.includes(secret))}`)
      }
      assert.match(text, /api_key=\[REDACTED\]/)
      assert.match(text, /\[REDACTED\]/)
    })

    it('redacts password, token and key fields that application code logs', async () => {
      lines.length = 0
      t.app.log.info({ password: 'pw-field-secret-1', user: { refreshToken: 'rt-field-secret-2', key: 'key-field-secret-3' }, token: 'tok-field-secret-4' }, 'diagnostic')
      t.app.log.info({ req: { method: 'GET', url: '/x', headers: { authorization: 'Bearer hdr-secret-5', cookie: 'c=hdr-secret-6', 'x-api-key': 'hdr-secret-7' } } }, 'raw request')
      await new Promise((resolve) => setImmediate(resolve))
      const text = lines.join('\n')
      assert.equal(lines.length, 2)
      for (const secret of ['pw-field-secret-1', 'rt-field-secret-2', 'key-field-secret-3', 'tok-field-secret-4', 'hdr-secret-5', 'hdr-secret-6', 'hdr-secret-7']) {
        assert.ok(!text.includes(secret), `${secret} reached the log: ${text}`)
      }
      assert.match(text, /\[REDACTED\]/)
    })
  })
}

describe('request log of refusals by the guard', () => {
  it('logs a 429 from the rate limiter', async () => {
    const app = await loggedApp('pglite', { RATE_LIMIT_REQUESTS: '1', RATE_LIMIT_BURST: '0' })
    try {
      let limited
      for (let i = 0; i < 3 && limited?.statusCode !== 429; i++) limited = await app.t.app.inject({ url: '/api/v1/me', remoteAddress: '198.51.100.4' })
      assert.equal(limited?.statusCode, 429)
      const line = await app.lineOf(limited!)
      assert.equal(line.status, 429)
      assert.equal(line.ip, '198.51.100.4')
    } finally {
      await app.t.close()
    }
  })

  it('logs a 503 from load shedding', async () => {
    // A heap cap far below what any process uses: every request is shed once under-pressure has sampled.
    const app = await loggedApp('pglite', { PRESSURE_MAX_HEAP_MB: '1' })
    try {
      await new Promise((resolve) => setTimeout(resolve, 1200))
      const res = await app.t.app.inject('/api/v1/me')
      assert.equal(res.statusCode, 503)
      assert.equal((await app.lineOf(res)).status, 503)
    } finally {
      await app.t.close()
    }
  })
})
