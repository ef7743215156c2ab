import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { loggerOptions } from '../src/http/logger.ts'
import { backends } from './helpers/db.ts'
import { cookieHeader, cookiesFrom, PASSWORD, startApp, testConfig, type TestApp } from './helpers/app.ts'

/** Collects every JSON line the app's logger writes. */
function memoryStream () {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    }
  })
  return { lines, stream }
}

for (const backend of await backends()) {
  describe(`log redaction (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    const { lines, stream } = memoryStream()
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
      assert.ok(lines.length >= 20, `only ${lines.length} log lines were captured`)
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
