import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { SignJWT } from 'jose'
import type { LightMyRequestResponse } from 'fastify'
import { verifyPassword } from '../src/modules/auth/passwords.ts'
import { AUDIENCE, ISSUER, tokenCodec } from '../src/modules/auth/tokens.ts'
import { backends } from './helpers/db.ts'
import { cookieHeader, cookiesFrom, PASSWORD, startApp, uniqueEmail, type Session, type TestApp } from './helpers/app.ts'

const MAX_FAILURES = 3
const ALERT_FAILURES = 6
const HTTPS = { 'x-forwarded-proto': 'https' }

interface Cookie { name: string, value: string, path?: string, httpOnly?: boolean, secure?: boolean, sameSite?: string, expires?: Date }

const cookieList = (res: LightMyRequestResponse) => res.cookies as Cookie[]
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Changes one character in the middle of the signature (the last character may only carry padding bits). */
function tamper (jwt: string): string {
  const at = jwt.lastIndexOf('.') + 5
  return jwt.slice(0, at) + (jwt[at] === 'A' ? 'B' : 'A') + jwt.slice(at + 1)
}

function assertProblem (res: LightMyRequestResponse, status: number) {
  assert.equal(res.statusCode, status, res.body)
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
  assert.equal(res.json().status, status)
}

for (const backend of await backends()) {
  describe(`browser sessions and tokens (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    // Trusting the loopback peer lets a test say "this came over HTTPS" with X-Forwarded-Proto,
    // and lets other tests pose as other clients with remoteAddress.
    before(async () => { t = await startApp(backend.name, { TRUSTED_PROXIES: '127.0.0.1', LOGIN_MAX_FAILURES: String(MAX_FAILURES), LOGIN_ACCOUNT_ALERT_FAILURES: String(ALERT_FAILURES) }) })
    after(() => t?.close())

    const me = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/api/v1/me', headers })
    const loginTokens = async (email: string, password = PASSWORD) => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password, tokens: true } })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['cache-control'], 'no-store', 'an answer with tokens is never cached')
      return res.json() as { accessToken: string, refreshToken: string, tokenType: string, expiresIn: number }
    }
    const auditRows = (action: string) => t.app.container.repos.auditLog.list({ action, limit: 50 })
    const login = (email: string, password: string, remoteAddress: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress, payload: { email, password } })
    const withCookies = (session: Session, res: LightMyRequestResponse): Session => {
      const cookies = { ...session.cookies, ...cookiesFrom(res) }
      return { cookies, cookie: cookieHeader(cookies), csrfToken: res.json().csrfToken ?? session.csrfToken }
    }

    it('sets HttpOnly, SameSite=Strict session cookies over plain HTTP in development', async () => {
      const user = await t.createUser()
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD } })
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['cache-control'], 'no-store', 'an answer that sets session cookies is never cached')
      const body = res.json()
      assert.equal(body.accessToken, undefined, 'cookie login does not put tokens in the body')
      assert.equal(body.refreshToken, undefined)
      assert.equal(typeof body.csrfToken, 'string')
      assert.equal(body.user.id, user.id)
      assert.equal(body.user.passwordHash ?? body.user.password_hash, undefined)
      const cookies = Object.fromEntries(cookieList(res).map((c) => [c.name, c]))
      assert.deepEqual(Object.keys(cookies).sort(), ['tympan_access', 'tympan_csrf', 'tympan_refresh'])
      for (const c of Object.values(cookies)) {
        assert.equal(c.sameSite, 'Strict', c.name)
        assert.ok(!c.secure, `${c.name} is not Secure over plain HTTP in development`)
      }
      assert.equal(cookies.tympan_access?.httpOnly, true)
      assert.equal(cookies.tympan_refresh?.httpOnly, true)
      assert.ok(!cookies.tympan_csrf?.httpOnly, 'the CSRF cookie must be readable by the page')
      assert.equal(cookies.tympan_access?.path, '/')
      assert.equal(cookies.tympan_refresh?.path, '/api/v1/auth')
      assert.equal(cookies.tympan_csrf?.value, body.csrfToken)
      assert.ok(Buffer.from(cookies.tympan_refresh?.value ?? '', 'base64url').length >= 32, 'refresh token carries ≥256 bits')
      const refreshDays = ((cookies.tympan_refresh?.expires?.getTime() ?? 0) - Date.now()) / 86_400_000
      assert.ok(refreshDays > 29.9 && refreshDays <= 30, `refresh cookie lives 30 days, got ${refreshDays}`)
    })

    it('never lets a text/plain POST (a cross-site form) reach the login handler', async () => {
      const user = await t.createUser()
      const res = await t.app.inject({
        method: 'POST', url: '/api/v1/auth/login', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify({ email: user.email, password: PASSWORD })
      })
      assertProblem(res, 415)
      assert.equal(res.headers['set-cookie'], undefined)
    })

    it('uses __Host-/__Secure- names and Secure when the request came over HTTPS', async () => {
      const user = await t.createUser()
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: HTTPS, payload: { email: user.email, password: PASSWORD } })
      assert.equal(res.statusCode, 200)
      const cookies = Object.fromEntries(cookieList(res).map((c) => [c.name, c]))
      assert.deepEqual(Object.keys(cookies).sort(), ['__Host-tympan_access', '__Host-tympan_csrf', '__Secure-tympan_refresh'])
      for (const c of Object.values(cookies)) {
        assert.equal(c.secure, true, c.name)
        assert.equal(c.sameSite, 'Strict', c.name)
      }
      assert.equal(cookies['__Host-tympan_access']?.httpOnly, true)
      assert.equal(cookies['__Secure-tympan_refresh']?.httpOnly, true)
      assert.equal(cookies['__Host-tympan_access']?.path, '/', '__Host- requires Path=/')
      assert.equal(cookies['__Host-tympan_csrf']?.path, '/')
      assert.equal(cookies['__Secure-tympan_refresh']?.path, '/api/v1/auth')
      for (const raw of [res.headers['set-cookie']].flat()) assert.doesNotMatch(String(raw), /domain=/i, '__Host- cookies carry no Domain')

      const cookie = cookieHeader(cookiesFrom(res))
      assert.equal((await me({ ...HTTPS, cookie })).statusCode, 200)
      // The secure cookie names are only honoured on secure requests.
      assert.equal((await me({ cookie })).statusCode, 401)
    })

    it('issues an access JWT with pinned claims and a 15-minute life', async () => {
      const user = await t.createUser()
      const tokens = await loginTokens(user.email)
      assert.equal(tokens.tokenType, 'Bearer')
      assert.ok(tokens.expiresIn > 890 && tokens.expiresIn <= 900)
      const header = JSON.parse(Buffer.from(tokens.accessToken.split('.')[0] as string, 'base64url').toString())
      assert.equal(header.alg, 'HS256')
      const claims = claimsOf(tokens.accessToken)
      assert.equal(claims.iss, ISSUER)
      assert.equal(claims.aud, AUDIENCE)
      assert.equal(claims.sub, user.id)
      assert.match(String(claims.sid), /^[0-9a-f-]{36}$/)
      assert.equal(typeof claims.iat, 'number')
      assert.equal(Number(claims.exp) - Number(claims.iat), 900)
      assert.ok(Math.abs(Number(claims.iat) - Date.now() / 1000) < 60)
      assert.ok(Buffer.from(String(claims.jti), 'base64url').length * 8 >= 128, 'jti carries ≥128 bits')
      assert.ok(Buffer.from(tokens.refreshToken, 'base64url').length >= 32)
      const session = await t.login(user.email)
      assert.notEqual(claimsOf(session.cookies.tympan_access as string).jti, claims.jti)
    })

    it('answers a wrong email and a wrong password identically and in similar time', async () => {
      const user = await t.createUser()
      const attempt = async (email: string, password: string, remoteAddress: string) => {
        const started = process.hrtime.bigint()
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress, payload: { email, password } })
        return { res, ms: Number(process.hrtime.bigint() - started) / 1e6 }
      }
      // Warm-up: the first unknown-email attempt also computes the dummy hash.
      await attempt(uniqueEmail('warm'), 'whatever password here', '10.1.0.1')
      // The fastest of several attempts is each path's own cost: a loaded machine (CI, a test
      // file running beside this one) can only slow single attempts down, never speed one up.
      const unknownMs: number[] = []
      const wrongMs: number[] = []
      let unknown: LightMyRequestResponse | undefined
      let wrong: LightMyRequestResponse | undefined
      // Each attempt from its own address, so the throttle's slowdown never kicks in.
      for (let i = 0; i < 6; i++) {
        const a = await attempt(uniqueEmail('nobody'), 'a wrong but long password', `10.1.1.${i + 1}`)
        const b = await attempt(user.email, 'a wrong but long password', `10.1.2.${i + 1}`)
        unknownMs.push(a.ms)
        wrongMs.push(b.ms)
        unknown = a.res
        wrong = b.res
      }
      assert.ok(unknown && wrong)
      assertProblem(unknown, 401)
      assertProblem(wrong, 401)
      const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined })
      assert.deepEqual(strip(unknown.json()), strip(wrong.json()))
      assert.deepEqual(Object.keys(unknown.json()).sort(), Object.keys(wrong.json()).sort())
      assert.equal(unknown.headers['www-authenticate'], wrong.headers['www-authenticate'])
      assert.equal(unknown.headers['set-cookie'], undefined)
      assert.equal(wrong.headers['set-cookie'], undefined)
      // Skipping the dummy verification would make the unknown email ~10× faster (no argon2).
      const ratio = Math.min(...unknownMs) / Math.min(...wrongMs)
      assert.ok(ratio > 0.5 && ratio < 2, `fastest unknown email ${Math.min(...unknownMs).toFixed(1)} ms, fastest wrong password ${Math.min(...wrongMs).toFixed(1)} ms`)
    })

    it('locks an (email, IP) pair after repeated failures, audits it, and leaves other IPs alone', async () => {
      const user = await t.createUser()
      const ip = '10.2.0.1'
      const fail = () => t.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: ip, payload: { email: user.email, password: 'not the right password' } })
      for (let i = 0; i < MAX_FAILURES; i++) assertProblem(await fail(), 401)
      const locked = await fail()
      assertProblem(locked, 429)
      const retryAfter = Number(locked.headers['retry-after'])
      assert.ok(retryAfter > 0 && retryAfter <= 15 * 60, `Retry-After: ${locked.headers['retry-after']}`)
      // While locked, even the right password is refused from that address.
      const right = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: ip, payload: { email: user.email, password: PASSWORD } })
      assertProblem(right, 429)
      assert.equal(right.headers['set-cookie'], undefined)

      const failures = (await auditRows('auth.login.failure')).filter((r) => r.actor_user_id === user.id && r.ip === ip)
      assert.equal(failures.length, MAX_FAILURES)
      assert.equal(failures[0]?.detail.email, user.email)
      const locks = (await auditRows('auth.login.locked')).filter((r) => r.actor_user_id === user.id || r.detail.email === user.email)
      assert.ok(locks.length >= 2, 'the lock and the refused attempts are audited')
      assert.ok(locks.every((r) => r.ip === ip && r.status === 429))

      const elsewhere = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: '10.2.0.2', payload: { email: user.email, password: PASSWORD } })
      assert.equal(elsewhere.statusCode, 200, elsewhere.body)
    })

    it('never locks the owner out: 15 wrong passwords from A leave B signing in, and A waits out its lock', async () => {
      const user = await t.createUser()
      const [a, b] = ['10.3.0.1', '10.3.0.2']
      const statuses: number[] = []
      for (let i = 0; i < 15; i++) statuses.push((await login(user.email, 'not the right password', a)).statusCode)
      assert.deepEqual(statuses, [...Array(MAX_FAILURES).fill(401), ...Array(15 - MAX_FAILURES).fill(429)])

      const owner = await login(user.email, PASSWORD, b)
      assert.equal(owner.statusCode, 200, owner.body)
      const stillLocked = await login(user.email, PASSWORD, a)
      assertProblem(stillLocked, 429)
      assert.ok(Number(stillLocked.headers['retry-after']) > 0)
      assert.match(stillLocked.json().detail, /from this address/)

      const rows = async (action: string) => (await auditRows(action)).filter((r) => r.detail.email === user.email)
      assert.deepEqual((await rows('auth.login.failure')).map((r) => r.ip), Array(MAX_FAILURES).fill(a))
      const locks = await rows('auth.login.locked')
      assert.equal(locks.length, 1 + (15 - MAX_FAILURES) + 1, 'the lock, each refused attempt, and the refused right password')
      assert.ok(locks.every((r) => r.ip === a && r.status === 429 && r.actor_user_id === user.id))
      const signIns = await t.app.container.repos.auditLog.list({ action: 'auth.login.success', actorUserId: user.id, limit: 10 })
      assert.deepEqual(signIns.map((r) => r.ip), [b])

      // The lock ends (as if LOGIN_LOCK_MINUTES had passed): the right password works from A again.
      await t.testDb.db.kysely.updateTable('login_failures').set({ locked_until: new Date(Date.now() - 1000) }).where('email', '=', user.email).execute()
      assert.equal((await login(user.email, PASSWORD, a)).statusCode, 200)
    })

    it('reports guessing spread over many addresses, and still lets the owner in', async () => {
      const user = await t.createUser()
      for (let i = 1; i <= ALERT_FAILURES; i++) assertProblem(await login(user.email, 'not the right password', `10.6.${i}.1`), 401)
      const alerts = await t.app.container.repos.auditLog.list({ action: 'auth.login.targeted', actorUserId: user.id, limit: 10 })
      assert.deepEqual(alerts.map((r) => r.detail), [{ email: user.email, failures: ALERT_FAILURES, clients: ALERT_FAILURES }])
      assert.equal((await login(user.email, PASSWORD, '10.6.99.1')).statusCode, 200)
    })

    it('locks the pair for a whole IPv6 /64, not one address of it', async () => {
      const user = await t.createUser()
      for (let i = 1; i <= MAX_FAILURES; i++) assertProblem(await login(user.email, 'not the right password', `2001:db8:77:1::${i}`), 401)
      assertProblem(await login(user.email, PASSWORD, '2001:db8:77:1:abcd::9'), 429)
      assert.equal((await login(user.email, PASSWORD, '2001:db8:77:2::1')).statusCode, 200, 'the next /64 is another client')
      const stored = await t.testDb.db.kysely.selectFrom('login_failures').select('ip').where('email', '=', user.email).execute()
      assert.deepEqual(stored.map((r) => r.ip), ['2001:db8:77:1::/64'])
    })

    it('rotates the refresh cookie, and only with X-CSRF-Token', async () => {
      const user = await t.createUser()
      const session = await t.login(user.email)
      const refresh = (headers: Record<string, string>) => t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', headers })

      assertProblem(await refresh({ cookie: session.cookie }), 403)
      assertProblem(await refresh({ cookie: session.cookie, 'x-csrf-token': 'nonce.signature' }), 403)

      const res = await refresh({ cookie: session.cookie, 'x-csrf-token': session.csrfToken })
      assert.equal(res.statusCode, 200, res.body)
      const next = withCookies(session, res)
      assert.ok(next.cookies.tympan_refresh)
      assert.notEqual(next.cookies.tympan_refresh, session.cookies.tympan_refresh)
      assert.notEqual(next.cookies.tympan_access, session.cookies.tympan_access)
      assert.equal(claimsOf(next.cookies.tympan_access as string).sid, claimsOf(session.cookies.tympan_access as string).sid)
      assert.equal(next.cookies.tympan_csrf, next.csrfToken)
      const refreshCookie = cookieList(res).find((c) => c.name === 'tympan_refresh')
      assert.equal(refreshCookie?.path, '/api/v1/auth')
      assert.equal(refreshCookie?.httpOnly, true)
      assert.equal((await me({ cookie: next.cookie })).statusCode, 200)
      // The rotated pair keeps working for the next refresh.
      assert.equal((await refresh({ cookie: next.cookie, 'x-csrf-token': next.csrfToken })).statusCode, 200)
    })

    it('refreshes a native client from {refreshToken} and revokes the family when a rotated token comes back', async () => {
      const user = await t.createUser()
      const first = await loginTokens(user.email)
      const refresh = (refreshToken: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } })

      const res = await refresh(first.refreshToken)
      assert.equal(res.statusCode, 200, res.body)
      const second = res.json()
      assert.equal(res.headers['set-cookie'], undefined, 'a native refresh sets no cookies')
      assert.equal(res.headers['cache-control'], 'no-store')
      assert.notEqual(second.refreshToken, first.refreshToken)
      assert.notEqual(second.accessToken, first.accessToken)
      assert.equal((await me({ authorization: `Bearer ${second.accessToken}` })).statusCode, 200)

      const reuse = await refresh(first.refreshToken)
      assertProblem(reuse, 401)
      assertProblem(await refresh(second.refreshToken), 401)
      assertProblem(await me({ authorization: `Bearer ${second.accessToken}` }), 401)
      assertProblem(await me({ authorization: `Bearer ${first.accessToken}` }), 401)

      const sid = claimsOf(first.accessToken).sid
      const rows = (await auditRows('auth.refresh.reuse_detected')).filter((r) => r.detail.sessionId === sid)
      assert.equal(rows.length, 1)
      assert.equal(rows[0]?.actor_user_id, user.id)
      const stored = await t.app.container.repos.sessions.findForUser(String(sid), user.id)
      assert.ok(stored?.revoked_at)
      assert.equal(stored?.revoke_reason, 'refresh_reuse')
    })

    it('revokes a replayed refresh cookie\'s session too', async () => {
      const user = await t.createUser()
      const session = await t.login(user.email)
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } })
      assert.equal(res.statusCode, 200)
      const next = withCookies(session, res)
      // The old cookie set again, with its (still valid) CSRF token: the replay is detected.
      const replay = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } })
      assertProblem(replay, 401)
      assertProblem(await me({ cookie: next.cookie }), 401)
    })

    it('refuses to refresh a session idle for 7 days or past its 30-day life', async () => {
      const user = await t.createUser()
      const idle = await loginTokens(user.email)
      const old = await loginTokens(user.email)
      const sessions = () => t.testDb.db.kysely.updateTable('sessions')
      const day = 86_400_000
      await sessions().set({ last_active_at: new Date(Date.now() - 7 * day - 60_000) }).where('id', '=', String(claimsOf(idle.accessToken).sid)).execute()
      await sessions().set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', String(claimsOf(old.accessToken).sid)).execute()
      assertProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: idle.refreshToken } }), 401)
      assertProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: old.refreshToken } }), 401)
      // Past its absolute life, the access token dies with the session.
      assertProblem(await me({ authorization: `Bearer ${old.accessToken}` }), 401)
      const fresh = await loginTokens(user.email)
      assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: fresh.refreshToken } })).statusCode, 200)
    })

    it('refuses a refresh without any token, or with one that was never issued', async () => {
      assertProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh' }), 400)
      assertProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: randomBytes(32).toString('base64url') } }), 401)
      assertProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: 'x', extra: 1 } }), 422)
    })

    it('logs out: 204, the old access cookie is dead and its jti blacklisted', async () => {
      const user = await t.createUser()
      const session = await t.login(user.email)
      const jti = String(claimsOf(session.cookies.tympan_access as string).jti)
      assert.equal((await me({ cookie: session.cookie })).statusCode, 200)

      assertProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: session.cookie } }), 403)
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } })
      assert.equal(res.statusCode, 204)
      const cleared = cookieList(res)
      assert.deepEqual(cleared.map((c) => c.name).sort(), ['tympan_access', 'tympan_csrf', 'tympan_refresh'])
      assert.ok(cleared.every((c) => c.value === ''))

      assertProblem(await me({ cookie: session.cookie }), 401)
      const revoked = await t.testDb.db.kysely.selectFrom('revoked_access_tokens').selectAll().where('jti', '=', jti).executeTakeFirst()
      assert.ok(revoked, 'the jti is on the blacklist')
      assert.ok(revoked.expires_at.getTime() > Date.now(), 'kept until the token would have expired')
      assertProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } }), 401)
      assert.ok((await auditRows('auth.logout')).some((r) => r.actor_user_id === user.id))
    })

    it('accepts a bearer access token for a POST without CSRF', async () => {
      const user = await t.createUser()
      const tokens = await loginTokens(user.email)
      const res = await t.app.inject({
        method: 'POST', url: '/api/v1/keys', headers: { authorization: `Bearer ${tokens.accessToken}` }, payload: { name: 'native', scopes: ['files:read'] }
      })
      assert.equal(res.statusCode, 201, res.body)
      const logout = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { authorization: `Bearer ${tokens.accessToken}` } })
      assert.equal(logout.statusCode, 204)
      assertProblem(await me({ authorization: `Bearer ${tokens.accessToken}` }), 401)
    })

    it('refuses a cookie-authenticated change without a valid X-CSRF-Token, and changes nothing', async () => {
      const user = await t.createUser()
      const session = await t.login(user.email)
      const other = await t.login(user.email)
      const createKey = (headers: Record<string, string>) => t.app.inject({
        method: 'POST', url: '/api/v1/keys', headers, payload: { name: 'csrf probe', scopes: ['files:read'] }
      })
      const attempts: Record<string, string>[] = [
        { cookie: session.cookie },
        { cookie: session.cookie, 'x-csrf-token': '' },
        { cookie: session.cookie, 'x-csrf-token': 'garbage' },
        { cookie: session.cookie, 'x-csrf-token': `${session.csrfToken}x` },
        // A valid token of another session, as header only, and as header plus planted cookie.
        { cookie: session.cookie, 'x-csrf-token': other.csrfToken },
        { cookie: cookieHeader({ ...session.cookies, tympan_csrf: other.csrfToken }), 'x-csrf-token': other.csrfToken },
        // The right header but no CSRF cookie.
        { cookie: cookieHeader({ ...session.cookies, tympan_csrf: '' }), 'x-csrf-token': session.csrfToken }
      ]
      for (const headers of attempts) {
        const res = await createKey(headers)
        assertProblem(res, 403)
        assert.match(res.json().detail, /CSRF/)
      }
      const list = await t.app.inject({ method: 'GET', url: '/api/v1/keys', headers: { cookie: session.cookie } })
      assert.equal(list.statusCode, 200, 'a safe method needs no CSRF token')
      assert.deepEqual(list.json().items, [])
      // Repeated failures of one session on one route are audited once a minute, the rest counted.
      const csrfAudits = (await auditRows('auth.csrf.failure')).filter((r) => r.actor_user_id === user.id)
      assert.ok(csrfAudits.length >= 1 && csrfAudits.length <= 2, `${csrfAudits.length} rows for ${attempts.length} failures`)

      assert.equal((await createKey({ cookie: session.cookie, 'x-csrf-token': session.csrfToken })).statusCode, 201)
    })

    it('lists your sessions and revokes one; another user\'s session is 404', async () => {
      const user = await t.createUser()
      const a = await t.login(user.email)
      const b = await t.login(user.email)
      const list = await t.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: { cookie: a.cookie } })
      assert.equal(list.statusCode, 200)
      const items = list.json().items as { id: string, current: boolean, ip: string, userAgent: string, createdAt: string, lastActiveAt: string }[]
      assert.equal(items.length, 2)
      const sidA = String(claimsOf(a.cookies.tympan_access as string).sid)
      const sidB = String(claimsOf(b.cookies.tympan_access as string).sid)
      assert.deepEqual(items.map((s) => s.id).sort(), [sidA, sidB].sort())
      assert.equal(items.find((s) => s.current)?.id, sidA)
      assert.equal(items[0]?.ip, '127.0.0.1')
      assert.equal(items[0]?.userAgent, 'lightMyRequest')
      assert.ok(items.every((s) => !Number.isNaN(Date.parse(s.createdAt)) && !Number.isNaN(Date.parse(s.lastActiveAt))))

      const stranger = await t.createUser()
      const s = await t.login(stranger.email)
      const sidS = String(claimsOf(s.cookies.tympan_access as string).sid)
      assertProblem(await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${sidS}`, headers: { cookie: a.cookie, 'x-csrf-token': a.csrfToken } }), 404)
      assert.equal((await me({ cookie: s.cookie })).statusCode, 200, 'the stranger\'s session is untouched')

      assertProblem(await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${sidB}`, headers: { cookie: a.cookie } }), 403)
      const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${sidB}`, headers: { cookie: a.cookie, 'x-csrf-token': a.csrfToken } })
      assert.equal(del.statusCode, 204)
      assertProblem(await me({ cookie: b.cookie }), 401)
      assert.equal((await me({ cookie: a.cookie })).statusCode, 200)
      const after = await t.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: { cookie: a.cookie } })
      assert.deepEqual(after.json().items.map((x: { id: string }) => x.id), [sidA])
      assertProblem(await t.app.inject({ method: 'DELETE', url: '/api/v1/auth/sessions/not-a-uuid', headers: { cookie: a.cookie, 'x-csrf-token': a.csrfToken } }), 422)
    })

    it('refuses session management to API keys', async () => {
      const user = await t.createUser()
      const session = await t.login(user.email)
      const key = await t.apiKey(session, ['files:read'])
      assertProblem(await t.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: { 'x-api-key': key } }), 403)
    })

    it('changes the password: checks the current one and the policy, ends every other session', async () => {
      const user = await t.createUser()
      const current = await t.login(user.email)
      const other = await t.login(user.email)
      const native = await loginTokens(user.email)
      const change = (body: Record<string, string>) => t.app.inject({
        method: 'POST', url: '/api/v1/me/password', headers: { cookie: current.cookie, 'x-csrf-token': current.csrfToken }, payload: body
      })
      const newPassword = 'another perfectly long passphrase'

      const wrong = await change({ currentPassword: 'not my password at all', newPassword })
      assertProblem(wrong, 422)
      const common = await change({ currentPassword: PASSWORD, newPassword: 'password1234' })
      assertProblem(common, 422)
      assert.match(common.json().detail, /common/)
      for (const weak of ['password123456', 'qwertyuiop2024']) {
        const refused = await change({ currentPassword: PASSWORD, newPassword: weak })
        assertProblem(refused, 422)
        assert.match(refused.json().detail, /^Password is too easy to guess\. .*commonly used password/)
      }
      assertProblem(await change({ currentPassword: PASSWORD, newPassword: 'short' }), 422)
      assert.equal((await me({ cookie: other.cookie })).statusCode, 200, 'failed attempts end nothing')

      const ok = await change({ currentPassword: PASSWORD, newPassword })
      assert.equal(ok.statusCode, 200, ok.body)
      assert.equal(ok.json().revokedSessions, 2)
      assertProblem(await me({ cookie: other.cookie }), 401)
      assertProblem(await me({ authorization: `Bearer ${native.accessToken}` }), 401)
      assertProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: native.refreshToken } }), 401)
      assert.equal((await me({ cookie: current.cookie })).statusCode, 200, 'the current session survives')

      assertProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD } }), 401)
      await t.login(user.email, newPassword)
    })

    it('throttles and audits wrong current passwords on password change, like a sign-in from that address', async () => {
      const user = await t.createUser()
      const session = await t.login(user.email)
      const ip = '10.4.0.1'
      const change = (currentPassword: string) => t.app.inject({
        method: 'POST', url: '/api/v1/me/password', remoteAddress: ip, headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
        payload: { currentPassword, newPassword: 'another perfectly long passphrase' }
      })
      for (let i = 0; i < MAX_FAILURES; i++) {
        const wrong = await change('not my password at all')
        assertProblem(wrong, 422)
        assert.equal(wrong.json().detail, 'currentPassword is not correct')
      }
      const locked = await change(PASSWORD)
      assertProblem(locked, 429)
      assert.ok(Number(locked.headers['retry-after']) > 0, 'Retry-After')
      assertProblem(await login(user.email, PASSWORD, ip), 429)
      assert.equal((await login(user.email, PASSWORD, '10.4.0.2')).statusCode, 200, 'another address is not locked')

      const failures = await t.app.container.repos.auditLog.list({ action: 'auth.password.change_failed', actorUserId: user.id, limit: 10 })
      assert.equal(failures.length, MAX_FAILURES)
      assert.ok(failures.every((r) => r.ip === ip && r.status === 422 && r.detail.purpose === 'password_change'))
      const locks = await t.app.container.repos.auditLog.list({ action: 'auth.login.locked', actorUserId: user.id, limit: 10 })
      assert.ok(locks.some((r) => typeof r.detail.until === 'string' && r.detail.purpose === 'password_change'), 'the lock is audited')
      assert.ok(await verifyPassword((await t.app.container.repos.users.findById(user.id))!.password_hash!, PASSWORD), 'the password is unchanged')
    })

    it('erases your account only with your current password; a wrong or missing one erases nothing', async () => {
      const user = await t.createUser()
      const session = await t.login(user.email)
      const key = await t.apiKey(session, ['files:read'])
      const ip = '10.5.0.1'
      const erase = (payload?: Record<string, string>) => t.app.inject({
        method: 'DELETE', url: '/api/v1/me/data', remoteAddress: ip, headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken }, ...(payload ? { payload } : {})
      })
      const stillThere = async () => {
        assert.ok(await t.app.container.repos.users.findById(user.id), 'the account is still there')
        assert.equal((await me({ cookie: session.cookie })).statusCode, 200)
        assert.equal((await me({ 'x-api-key': key })).statusCode, 200)
      }

      const missing = await erase()
      assertProblem(missing, 422)
      assert.match(missing.json().detail, /confirm it with your current password/)
      assertProblem(await erase({}), 422)
      const wrong = await erase({ password: 'not my password at all' })
      assertProblem(wrong, 422)
      assert.equal(wrong.json().detail, 'password is not correct')
      assert.equal(wrong.json().field, 'password')
      await stillThere()
      const failures = await t.app.container.repos.auditLog.list({ action: 'user.erase_failed', actorUserId: user.id, limit: 10 })
      assert.deepEqual(failures.map((r) => [r.ip, r.status]), [[ip, 422]])
      assert.equal((await t.app.container.repos.auditLog.list({ action: 'user.erased', actorUserId: user.id, limit: 10 })).length, 0)

      for (let i = 1; i < MAX_FAILURES; i++) assertProblem(await erase({ password: 'not my password at all' }), 422)
      assertProblem(await erase({ password: PASSWORD }), 429)
      await stillThere()

      const other = await t.app.inject({
        method: 'DELETE', url: '/api/v1/me/data', remoteAddress: '10.5.0.2', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken }, payload: { password: PASSWORD }
      })
      assert.equal(other.statusCode, 204, other.body)
      assert.equal(await t.app.container.repos.users.findById(user.id), undefined)
    })

    it('refuses tampered, foreign, unsigned, wrong-audience and expired access tokens', async () => {
      const user = await t.createUser()
      const session = await t.login(user.email)
      const access = session.cookies.tympan_access as string
      const sid = String(claimsOf(access).sid)
      const withAccess = (token: string) => cookieHeader({ ...session.cookies, tympan_access: token })

      const tampered = await me({ cookie: withAccess(tamper(access)) })
      assertProblem(tampered, 401)
      assert.equal(tampered.headers['www-authenticate'], 'Bearer realm="tympan"')
      assertProblem(await me({ authorization: `Bearer ${tamper(access)}` }), 401)

      const foreign = await tokenCodec(randomBytes(32).toString('base64url'), 900).sign(user.id, sid)
      assertProblem(await me({ cookie: withAccess(foreign.token) }), 401)
      assertProblem(await me({ authorization: `Bearer ${foreign.token}` }), 401)

      const payload = access.split('.')[1] as string
      for (const alg of ['none', 'None', 'NONE']) {
        const unsigned = `${b64({ alg, typ: 'JWT' })}.${payload}.`
        assertProblem(await me({ authorization: `Bearer ${unsigned}` }), 401)
        assertProblem(await me({ cookie: withAccess(unsigned) }), 401)
        assertProblem(await me({ authorization: `Bearer ${unsigned}AAAA` }), 401)
      }
      // An attacker-chosen payload (admin role claims, other subject) with the original signature.
      const forged = `${access.split('.')[0]}.${b64({ ...claimsOf(access), sub: randomBytes(16).toString('hex'), role: 'admin' })}.${access.split('.')[2]}`
      assertProblem(await me({ authorization: `Bearer ${forged}` }), 401)

      const key = new TextEncoder().encode(t.config.secrets.jwt)
      const now = Math.floor(Date.now() / 1000)
      const wrongAudience = await new SignJWT({ sid }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience('another-service')
        .setSubject(user.id).setJti(randomBytes(16).toString('base64url')).setIssuedAt(now).setExpirationTime(now + 900).sign(key)
      assertProblem(await me({ authorization: `Bearer ${wrongAudience}` }), 401)

      const codec = tokenCodec(t.config.secrets.jwt, t.config.auth.accessTtlSec)
      const expired = await codec.sign(user.id, sid, new Date(Date.now() - 3600_000))
      assertProblem(await me({ authorization: `Bearer ${expired.token}` }), 401)
      assertProblem(await me({ cookie: withAccess(expired.token) }), 401)
      // Control: the same codec with the current time is accepted, so the refusals above are about the token.
      const fresh = await codec.sign(user.id, sid)
      assert.equal((await me({ authorization: `Bearer ${fresh.token}` })).statusCode, 200)
      // A valid signature for a session that belongs to someone else is still refused.
      const stranger = await t.createUser()
      assertProblem(await me({ authorization: `Bearer ${(await codec.sign(stranger.id, sid)).token}` }), 401)
    })

    it('stops a disabled user\'s existing session on the next request', async () => {
      const admin = await t.createUser('admin')
      const adminSession = await t.login(admin.email)
      const user = await t.createUser()
      const session = await t.login(user.email)
      const native = await loginTokens(user.email)
      const key = await t.apiKey(session, ['files:read'])
      assert.equal((await me({ cookie: session.cookie })).statusCode, 200)
      assert.equal((await me({ 'x-api-key': key })).statusCode, 200)

      const res = await t.app.inject({
        method: 'PATCH', url: `/api/v1/admin/users/${user.id}`, headers: { cookie: adminSession.cookie, 'x-csrf-token': adminSession.csrfToken }, payload: { disabled: true }
      })
      assert.equal(res.statusCode, 200, res.body)
      assertProblem(await me({ cookie: session.cookie }), 401)
      assertProblem(await me({ authorization: `Bearer ${native.accessToken}` }), 401)
      assertProblem(await me({ 'x-api-key': key }), 401)
      assertProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: native.refreshToken } }), 401)
      assertProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD } }), 401)
    })

    it('checks the disabled flag itself on every request, not only the session revocation', async () => {
      const user = await t.createUser()
      const session = await t.login(user.email)
      await t.app.container.repos.users.update(user.id, { disabled: true })
      assertProblem(await me({ cookie: session.cookie }), 401)
      await t.app.container.repos.users.update(user.id, { disabled: false })
      assert.equal((await me({ cookie: session.cookie })).statusCode, 200)
    })
  })

  describe(`session cookies in production mode (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    before(async () => { t = await startApp(backend.name, { TYMPAN_ENV: 'production' }) })
    after(() => t?.close())

    it('marks every cookie Secure with the prefixed names, even behind plain HTTP', async () => {
      const user = await t.createUser()
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD } })
      assert.equal(res.statusCode, 200)
      const cookies = cookieList(res)
      assert.deepEqual(cookies.map((c) => c.name).sort(), ['__Host-tympan_access', '__Host-tympan_csrf', '__Secure-tympan_refresh'])
      assert.ok(cookies.every((c) => c.secure === true && c.sameSite === 'Strict'))
      const cookie = cookieHeader(cookiesFrom(res))
      const csrf = res.json().csrfToken as string
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } })).statusCode, 200)
      const refreshed = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', headers: { cookie, 'x-csrf-token': csrf } })
      assert.equal(refreshed.statusCode, 200, refreshed.body)
      assert.ok(cookieList(refreshed).some((c) => c.name === '__Secure-tympan_refresh' && c.secure && c.path === '/api/v1/auth'))
    })
  })
}
