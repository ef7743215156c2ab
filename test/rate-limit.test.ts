import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Redis } from 'ioredis'
import { buildApp } from '../src/app.ts'
import { backends, openTestDb, type TestDb } from './helpers/db.ts'
import { cookiesFrom, cookieHeader, PASSWORD, startApp, testConfig, uniqueEmail, type TestApp } from './helpers/app.ts'
import { multipart } from './helpers/audio.ts'
import { freePort } from './helpers/net.ts'
import { redisProblem } from './helpers/services.ts'

const SHARED_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

// The seed defaults (the shared test helper sets every limit out of reach); each suite
// below overrides what it measures.
const SEED_LIMITS: Record<string, string> = {
  RATE_LIMIT_REQUESTS: '100',
  RATE_LIMIT_PREMIUM_REQUESTS: '1000',
  RATE_LIMIT_ENTERPRISE_REQUESTS: '10000',
  RATE_LIMIT_UPLOADS_FREE: '10',
  RATE_LIMIT_UPLOADS_PREMIUM: '100',
  RATE_LIMIT_UPLOADS_ENTERPRISE: '1000',
  RATE_LIMIT_LOGIN_PER_IP: '30',
  RATE_LIMIT_LOGIN_PER_ACCOUNT: '10'
}
const limits = (overrides: Record<string, string>) => ({ ...SEED_LIMITS, ...overrides })

function assertLimited (res: LightMyRequestResponse, limit: number) {
  assert.equal(res.statusCode, 429, res.body)
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
  const body = res.json()
  assert.equal(body.status, 429)
  assert.equal(body.title, 'Too Many Requests')
  assert.equal(typeof body.requestId, 'string')
  const retryAfter = Number(res.headers['retry-after'])
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After ${res.headers['retry-after']}`)
  assert.equal(res.headers['ratelimit-limit'], String(limit))
  assert.equal(res.headers['ratelimit-remaining'], '0')
  assert.ok(Number(res.headers['ratelimit-reset']) >= 1)
}

const auditRows = (db: TestDb, where: { actorKeyId?: string, ip?: string } = {}) => {
  let q = db.db.kysely.selectFrom('audit_log').selectAll().where('action', '=', 'rate_limit.exceeded')
  if (where.actorKeyId) q = q.where('actor_key_id', '=', where.actorKeyId)
  if (where.ip) q = q.where('ip', '=', where.ip)
  return q.orderBy('id').execute()
}

/** A member with an API key (scopes as given) on an app. */
async function keyHolder (t: TestApp, scopes: string[] = ['files:read'], tier: 'free' | 'premium' = 'free') {
  const user = await t.createUser('member', { tier })
  const key = await t.apiKey(await t.login(user.email), scopes)
  // The principal's (and the audit row's) key id is the key's non-secret prefix.
  return { user, key, keyId: key.split('_').slice(0, 2).join('_') }
}

for (const backend of await backends()) {
  describe(`rate limits (${backend.name})`, { skip: backend.skip }, () => {
    describe('per API key', () => {
      let t: TestApp
      before(async () => { t = await startApp(backend.name, limits({ RATE_LIMIT_REQUESTS: '100', RATE_LIMIT_BURST: '0' })) })
      after(() => t?.close())

      it('lets 100 requests a minute through on one key, answers the 101st 429, and leaves another key alone', async () => {
        const { user, key, keyId } = await keyHolder(t)
        const other = await t.apiKey(await t.login(user.email), ['files:read'])
        const me = (apiKey: string) => t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { 'x-api-key': apiKey } })
        for (let i = 1; i <= 100; i++) {
          const res = await me(key)
          assert.equal(res.statusCode, 200, `request ${i}: ${res.body}`)
          assert.equal(res.headers['ratelimit-limit'], '100')
          assert.equal(res.headers['ratelimit-remaining'], String(100 - i))
          assert.ok(Number(res.headers['ratelimit-reset']) <= 60)
        }
        const refused = await me(key)
        assertLimited(refused, 100)
        assert.ok(Number(refused.headers['retry-after']) <= 60)
        assert.match(refused.json().detail, /100 requests per 60 s for this API key/)
        assert.equal(refused.json().limit, 'requests')
        assert.match(await t.app.metrics.registry.getSingleMetricAsString('tympan_rate_limit_hits_total'), /tympan_rate_limit_hits_total\{limit="requests"\} 1$/m)

        const unaffected = await me(other)
        assert.equal(unaffected.statusCode, 200)
        assert.equal(unaffected.headers['ratelimit-remaining'], '99')

        const [row] = await auditRows(t.testDb, { actorKeyId: keyId })
        assert.ok(row, 'the violation is audited')
        assert.equal(row.actor_user_id, user.id)
        assert.equal(row.status, 429)
        assert.deepEqual(row.detail, { limit: 'requests', keyKind: 'api_key', tier: 'free' })
      })

      it('limits a session by its user, across its requests', async () => {
        const user = await t.createUser('member')
        const session = await t.login(user.email)
        let last: LightMyRequestResponse | undefined
        for (let i = 0; i < 101; i++) last = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: session.cookie } })
        assertLimited(last!, 100)
        assert.match(last!.json().detail, /for this account/)
      })
    })

    describe('probes and the scraper', () => {
      const token = randomBytes(32).toString('base64url')
      let t: TestApp
      before(async () => { t = await startApp(backend.name, limits({ RATE_LIMIT_REQUESTS: '20', RATE_LIMIT_BURST: '0', METRICS_TOKEN: token })) })
      after(() => t?.close())

      const get = (url: string, remoteAddress: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, remoteAddress, headers })
      const spend = async (url: string, remoteAddress: string, headers: Record<string, string>, expected: number) => {
        for (let i = 1; i <= 20; i++) {
          const res = await get(url, remoteAddress, headers)
          assert.equal(res.statusCode, expected, `request ${i}: ${res.body}`)
          assert.equal(res.headers['ratelimit-remaining'], String(20 - i))
        }
        const refused = await get(url, remoteAddress, headers)
        assertLimited(refused, 20)
        return refused
      }

      it('limits /readyz by address, and never /healthz', async () => {
        await spend('/readyz', '192.0.2.200', {}, 200)
        assert.equal((await get('/readyz', '192.0.2.201')).statusCode, 200, 'another address has its own budget')
        for (let i = 0; i < 30; i++) {
          const res = await get('/healthz', '192.0.2.200')
          assert.equal(res.statusCode, 200)
          assert.equal(res.headers['ratelimit-limit'], undefined)
        }
      })

      it('limits /metrics per user and per key, and the 403s stop at the budget', async () => {
        const admin = await t.login((await t.createUser('admin')).email)
        await spend('/metrics', '192.0.2.210', { cookie: admin.cookie }, 200)
        const { key, keyId } = await keyHolder(t)
        const refused = await spend('/metrics', '192.0.2.211', { 'x-api-key': key }, 403)
        assert.match(refused.json().detail, /for this API key/)
        const denials = await t.testDb.db.kysely.selectFrom('audit_log').select('id').where('action', '=', 'authz.denied').where('actor_key_id', '=', keyId).execute()
        assert.ok(denials.length >= 1 && denials.length <= 2, `${denials.length} authz.denied rows for 20 denials`)
      })

      it('counts guessed keys and tokens on /metrics by address before their 401', async () => {
        const guesses: Record<string, string>[] = [
          { authorization: `Bearer ${randomBytes(32).toString('base64url')}` },
          { 'x-api-key': `tym_${'0'.repeat(12)}_${'x'.repeat(43)}` },
          { authorization: `Bearer ${token.slice(0, -1)}` }
        ]
        for (let i = 1; i <= 20; i++) assert.equal((await get('/metrics', '198.51.100.70', guesses[i % 3]!)).statusCode, 401, `guess ${i}`)
        const refused = await get('/metrics', '198.51.100.70', guesses[0]!)
        assertLimited(refused, 20)
        assert.match(refused.json().detail, /for this address/)
      })

      it('never limits the METRICS_TOKEN scraper: 300 scrapes, even from an address that spent its budget', async () => {
        for (let i = 0; i < 21; i++) await get('/api/v1/me', '192.0.2.220')
        assert.equal((await get('/api/v1/me', '192.0.2.220')).statusCode, 429)
        for (let i = 0; i < 300; i++) {
          const res = await get('/metrics', '192.0.2.220', { authorization: `Bearer ${token}` })
          assert.equal(res.statusCode, 200, `scrape ${i + 1}: ${res.body}`)
          assert.equal(res.headers['ratelimit-limit'], undefined)
        }
      })
    })

    describe('bursts, bad credentials, internal keys', () => {
      const internalKey = randomBytes(32).toString('base64url')
      let t: TestApp
      before(async () => {
        t = await startApp(backend.name, limits({ RATE_LIMIT_REQUESTS: '5', RATE_LIMIT_BURST: '3', INTERNAL_API_KEYS: internalKey }))
      })
      after(() => t?.close())

      it('lets requests + burst through, then refuses', async () => {
        const { key } = await keyHolder(t)
        const statuses: number[] = []
        for (let i = 0; i < 10; i++) statuses.push((await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { 'x-api-key': key } })).statusCode)
        assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 429, 429])
      })

      it('counts invalid credentials by address before answering 401', async () => {
        const wrong = (i: number) => t.app.inject({
          method: 'GET', url: '/api/v1/me', remoteAddress: '198.51.100.66', headers: { 'x-api-key': `tym_${'0'.repeat(12)}_${'x'.repeat(42)}${i % 10}` }
        })
        const statuses: number[] = []
        for (let i = 0; i < 9; i++) statuses.push((await wrong(i)).statusCode)
        assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401, 401, 401, 429])
        const res = await wrong(0)
        assertLimited(res, 5)
        assert.match(res.json().detail, /for this address/)
        // The refused credential is still refused with its own message once the budget is back:
        // the 401 path itself is unchanged.
        const elsewhere = await t.app.inject({ method: 'GET', url: '/api/v1/me', remoteAddress: '198.51.100.67', headers: { 'x-api-key': 'nonsense' } })
        assert.equal(elsewhere.statusCode, 401)
        assert.equal(elsewhere.json().detail, 'API key is invalid, expired or revoked')
        const [row] = await auditRows(t.testDb, { ip: '198.51.100.66' })
        assert.deepEqual(row?.detail, { limit: 'requests', keyKind: 'ip', tier: 'free' })
        assert.equal(row?.actor_user_id, null)
      })

      it('never limits INTERNAL_API_KEYS', async () => {
        for (let i = 0; i < 30; i++) {
          const res = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { 'x-api-key': internalKey } })
          assert.equal(res.statusCode, 200, res.body)
          assert.equal(res.headers['ratelimit-limit'], undefined)
        }
      })

      it('aggregates violations: many 429s, one audit row per key and minute', async () => {
        const { key, keyId } = await keyHolder(t)
        const started = Date.now()
        let refused = 0
        for (let i = 0; i < 48; i++) {
          if ((await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { 'x-api-key': key } })).statusCode === 429) refused++
        }
        const minutes = Math.floor(Date.now() / 60_000) - Math.floor(started / 60_000) + 1
        assert.equal(refused, 40)
        const rows = await auditRows(t.testDb, { actorKeyId: keyId })
        assert.ok(rows.length >= 1 && rows.length <= minutes, `${rows.length} rows over ${minutes} minute(s)`)
      })
    })

    describe('client addresses', () => {
      let direct: TestApp
      let proxied: TestApp
      before(async () => {
        direct = await startApp(backend.name, limits({ RATE_LIMIT_REQUESTS: '3', RATE_LIMIT_BURST: '0' }))
        proxied = await startApp(backend.name, limits({ RATE_LIMIT_REQUESTS: '3', RATE_LIMIT_BURST: '0', TRUSTED_PROXIES: '127.0.0.1' }))
      })
      after(async () => {
        await direct?.close()
        await proxied?.close()
      })

      const anonymous = (t: TestApp, remoteAddress: string, xff?: string) =>
        t.app.inject({ method: 'GET', url: '/api/v1/me', remoteAddress, headers: xff ? { 'x-forwarded-for': xff } : {} })

      it('ignores X-Forwarded-For from an untrusted peer, for the limit and the audit row', async () => {
        const peer = '203.0.113.10'
        const statuses: number[] = []
        for (const xff of ['1.2.3.4', '5.6.7.8', '1.2.3.4, 9.9.9.9', '10.0.0.1']) statuses.push((await anonymous(direct, peer, xff)).statusCode)
        assert.deepEqual(statuses, [401, 401, 401, 429], 'every spoofed address drew on the peer\'s budget')
        assert.equal((await anonymous(direct, '203.0.113.11', '1.2.3.4')).statusCode, 401, 'another peer has its own budget')
        const rows = await auditRows(direct.testDb, { ip: peer })
        assert.equal(rows.length, 1)
        assert.equal((await auditRows(direct.testDb, { ip: '1.2.3.4' })).length, 0)
      })

      it('believes X-Forwarded-For from a trusted proxy: the right-most untrusted address', async () => {
        const statuses: number[] = []
        for (const xff of ['1.2.3.4', '66.66.66.66, 1.2.3.4', '1.2.3.4, 127.0.0.1', '1.2.3.4']) statuses.push((await anonymous(proxied, '127.0.0.1', xff)).statusCode)
        assert.deepEqual(statuses, [401, 401, 401, 429])
        assert.equal((await anonymous(proxied, '127.0.0.1', '1.2.3.5')).statusCode, 401, 'the proxy is not one client')
        assert.equal((await auditRows(proxied.testDb, { ip: '1.2.3.4' })).length, 1)
      })

      it('groups IPv6 clients by /64', async () => {
        const statuses: number[] = []
        for (const ip of ['2001:db8:a:b::1', '2001:db8:a:b::2', '2001:db8:a:b:ffff:ffff:ffff:ffff', '2001:db8:a:b:1234::9']) statuses.push((await anonymous(direct, ip)).statusCode)
        assert.deepEqual(statuses, [401, 401, 401, 429])
        assert.equal((await anonymous(direct, '2001:db8:a:c::1')).statusCode, 401, 'the next /64 is another client')
      })
    })

    describe('sign-in limits', () => {
      let t: TestApp
      before(async () => {
        t = await startApp(backend.name, limits({
          RATE_LIMIT_LOGIN_PER_IP: '5', RATE_LIMIT_LOGIN_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES: '100', RATE_LIMIT_REQUESTS: '1000'
        }))
      })
      after(() => t?.close())

      const login = (email: string, password: string, remoteAddress: string) =>
        t.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress, payload: { email, password } })

      it('limits attempts per account from one address, before the password is checked, and never the owner elsewhere', async () => {
        const victim = await t.createUser('member')
        const [a, b] = ['192.0.2.10', '192.0.2.20']
        const statuses: number[] = []
        for (let i = 0; i < 15; i++) statuses.push((await login(victim.email, 'wrong password', a)).statusCode)
        assert.deepEqual(statuses, [401, 401, 401, ...Array(12).fill(429)])
        const owner = await login(victim.email.toUpperCase(), PASSWORD, b)
        assert.equal(owner.statusCode, 200, owner.body)
        const right = await login(victim.email, PASSWORD, a)
        assert.equal(right.statusCode, 429, 'the guessing address stays refused, even with the right password')
        assert.match(right.json().detail, /sign-in attempts (for this account from|from) this address/)
        const rows = await auditRows(t.testDb, { ip: a })
        assert.deepEqual(rows[0]?.detail, { limit: 'login_account', keyKind: 'account', tier: 'free', email: victim.email })
        assert.deepEqual(await auditRows(t.testDb, { ip: b }), [], 'nothing is refused from the owner\'s address')
      })

      it('counts the per-account budget per IPv6 /64', async () => {
        const victim = await t.createUser('member')
        const statuses: number[] = []
        for (const host of ['1', '2', '3', '4']) statuses.push((await login(victim.email, 'wrong password', `2001:db8:5:6::${host}`)).statusCode)
        assert.deepEqual(statuses, [401, 401, 401, 429])
        assertLimited(await login(victim.email, PASSWORD, '2001:db8:5:6:ffff::1'), 3)
        assert.equal((await login(victim.email, PASSWORD, '2001:db8:5:7::1')).statusCode, 200)
      })

      it('limits attempts per address, across accounts', async () => {
        const statuses: number[] = []
        for (let i = 0; i < 6; i++) statuses.push((await login(uniqueEmail('nobody'), 'whatever', '198.51.100.99')).statusCode)
        assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429])
        const res = await login(uniqueEmail('nobody'), 'whatever', '198.51.100.99')
        assertLimited(res, 5)
        assert.match(res.json().detail, /sign-in attempts from this address/)
      })
    })

    describe('upload limits', () => {
      let t: TestApp
      before(async () => { t = await startApp(backend.name, limits({ RATE_LIMIT_REQUESTS: '1000' })) })
      after(() => t?.close())

      // Every attempt is refused cheaply (an unsupported name, a refused address): the limit
      // counts attempts, so no real file work is needed.
      const attempts = (key: string) => ({
        multipart: () => {
          const form = multipart({ file: { filename: 'notes.txt', content: Buffer.from('not audio') } })
          return t.app.inject({ method: 'POST', url: '/api/v1/files', headers: { 'x-api-key': key, 'content-type': form.contentType }, payload: form.body })
        },
        importing: () => t.app.inject({ method: 'POST', url: '/api/v1/files/import', headers: { 'x-api-key': key }, payload: { url: 'https://127.0.0.1/a.mp3' } }),
        tus: () => t.app.inject({
          method: 'POST',
          url: '/api/v1/uploads',
          headers: { 'x-api-key': key, 'tus-resumable': '1.0.0', 'upload-length': '10', 'upload-metadata': `filename ${Buffer.from('notes.txt').toString('base64')}` }
        })
      })

      it('allows 10 uploads a minute on the free tier, across the three upload routes', async () => {
        const { key } = await keyHolder(t, ['files:read', 'files:write'])
        const routes = attempts(key)
        const sequence = [routes.multipart, routes.importing, routes.tus, routes.multipart, routes.importing, routes.tus, routes.multipart, routes.importing, routes.tus, routes.importing]
        for (const [i, attempt] of sequence.entries()) {
          const res = await attempt()
          assert.ok(res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 429, `attempt ${i + 1}: ${res.statusCode} ${res.body}`)
          assert.equal(res.headers['ratelimit-limit'], '10', `attempt ${i + 1} shows the tighter budget`)
          assert.equal(res.headers['ratelimit-remaining'], String(9 - i))
        }
        for (const attempt of [routes.multipart, routes.importing, routes.tus]) {
          const res = await attempt()
          assertLimited(res, 10)
          assert.match(res.json().detail, /10 uploads per minute on the free tier/)
        }
        // Other requests of the same key still pass: only the upload budget is spent.
        assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/files', headers: { 'x-api-key': key } })).statusCode, 200)
      })

      it('gives the premium tier its own, larger budget', async () => {
        const { key } = await keyHolder(t, ['files:write'], 'premium')
        for (let i = 0; i < 12; i++) {
          const res = await attempts(key).importing()
          assert.equal(res.statusCode, 422, res.body)
          assert.equal(res.headers['ratelimit-limit'], '100')
        }
      })

      it('does not spend the upload budget on a request that is not allowed to upload', async () => {
        const { key } = await keyHolder(t, ['files:read'])
        for (let i = 0; i < 12; i++) assert.equal((await attempts(key).importing()).statusCode, 403)
      })
    })

    describe('RATE_LIMIT_ENABLED=false', () => {
      let t: TestApp
      before(async () => { t = await startApp(backend.name, limits({ RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_REQUESTS: '1' })) })
      after(() => t?.close())

      it('limits nothing and sends no RateLimit headers', async () => {
        for (let i = 0; i < 5; i++) {
          const res = await t.app.inject({ method: 'GET', url: '/api/v1/me' })
          assert.equal(res.statusCode, 401)
          assert.equal(res.headers['ratelimit-limit'], undefined)
        }
      })
    })
  })
}

// Redis is shared infrastructure, not a database backend: these run on PGlite only.


async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** A private, throw-away redis-server on its own port. */
async function startRedis (port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  await until('redis-server to answer', async () => !(await redisProblem(`redis://127.0.0.1:${port}`)))
  return child
}

async function stopRedis (child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

const sharedProblem = await redisProblem(SHARED_REDIS)
const serverMissing = await new Promise<string | undefined>((resolve) => {
  const probe = spawn('redis-server', ['--version'], { stdio: 'ignore' })
  probe.on('error', (error) => resolve(error.message))
  probe.on('exit', () => resolve(undefined))
})

describe('rate limits in Redis (pglite)', () => {
  async function signIn (app: FastifyInstance, email: string) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: PASSWORD } })
    assert.equal(res.statusCode, 200, res.body)
    const cookies = cookiesFrom(res)
    return { cookie: cookieHeader(cookies), csrfToken: res.json().csrfToken as string }
  }

  it('shares one budget between two server processes', { skip: sharedProblem && `Redis not reachable at ${SHARED_REDIS}: ${sharedProblem}` }, async () => {
    const testDb = await openTestDb('pglite')
    const prefix = `tympan-test:${randomBytes(6).toString('hex')}`
    const config = testConfig({ REDIS_URL: SHARED_REDIS, RATE_LIMIT_REQUESTS: '10', RATE_LIMIT_BURST: '0' })
    const apps = [
      await buildApp({ config, db: testDb.db, rateLimitKeyPrefix: prefix }),
      await buildApp({ config, db: testDb.db, rateLimitKeyPrefix: prefix })
    ] as const
    const redis = new Redis(SHARED_REDIS)
    try {
      const user = await apps[0].container.users.create({ email: uniqueEmail('shared'), password: PASSWORD, role: 'member', tier: 'free' })
      const session = await signIn(apps[0], user.email)
      const created = await apps[0].inject({ method: 'POST', url: '/api/v1/keys', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken }, payload: { name: 'k', scopes: ['files:read'] } })
      const key = created.json().key as string
      const statuses: number[] = []
      for (let i = 0; i < 16; i++) statuses.push((await apps[i % 2]!.inject({ method: 'GET', url: '/api/v1/me', headers: { 'x-api-key': key } })).statusCode)
      assert.equal(statuses.filter((s) => s === 200).length, 10, statuses.join(' '))
      assert.deepEqual(statuses.slice(10), [429, 429, 429, 429, 429, 429])
      const keys = await redis.keys(`${prefix}:*`)
      assert.ok(keys.some((k) => k.endsWith(`api_key:${key.split('_').slice(0, 2).join('_')}`)), keys.join(', '))
    } finally {
      await redis.del(...(await redis.keys(`${prefix}:*`)), `${prefix}:none`)
      redis.disconnect()
      for (const app of apps) await app.close()
      await testDb.close()
    }
  })

  it('keeps serving on memory counters while Redis is down, logs it once, and returns to Redis', { skip: serverMissing && `redis-server not available: ${serverMissing}`, timeout: 60_000 }, async () => {
    const port = await freePort()
    let server = await startRedis(port)
    const lines: string[] = []
    const t = await startApp('pglite', limits({ REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_REQUESTS: '5', RATE_LIMIT_BURST: '0' }),
      { level: 'info', stream: { write: (line: string) => { lines.push(line) } } })
    const probe = new Redis(`redis://127.0.0.1:${port}`, { retryStrategy: () => 100, maxRetriesPerRequest: 0, enableOfflineQueue: false })
    probe.on('error', () => {})
    try {
      const { key, keyId } = await keyHolder(t)
      const me = () => t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { 'x-api-key': key } })
      const counter = async () => (await probe.keys(`*api_key:${keyId}`))[0]

      assert.equal((await me()).statusCode, 200)
      assert.equal((await me()).statusCode, 200)
      const stored = await counter()
      assert.ok(stored, 'the count lives in Redis')
      assert.equal(await probe.get(stored), '2')

      await stopRedis(server)
      const statuses: number[] = []
      for (let i = 0; i < 7; i++) statuses.push((await me()).statusCode)
      // Memory takes over with a fresh count: 5 more pass, then the limit holds.
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429])
      await sleep(1500) // several reconnection attempts fail meanwhile
      for (let i = 0; i < 5; i++) await me()
      const outage = lines.filter((l) => l.includes('Redis is unreachable'))
      assert.equal(outage.length, 1, 'the outage is logged once, not per request or per reconnection attempt')

      server = await startRedis(port)
      await until('the app to reconnect', () => lines.some((l) => l.includes('Redis is reachable again')))
      // Memory has this key over its budget; Redis (restarted empty) does not: Redis answers.
      const back = await me()
      assert.equal(back.statusCode, 200, back.body)
      await until('the probe to reconnect', () => probe.status === 'ready')
      const again = await counter()
      assert.ok(again, 'the count is in Redis again')
      assert.equal(await probe.get(again), '1')
    } finally {
      probe.disconnect()
      await t.close()
      await stopRedis(server)
    }
  })
})
