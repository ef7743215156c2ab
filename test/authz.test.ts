import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes, randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { User } from '../src/db/schema.ts'
import { backends } from './helpers/db.ts'
import { startApp, uniqueEmail, PASSWORD, type Session, type TestApp } from './helpers/app.ts'

// The short public list of the issue: health, login, refresh, and the API documentation.
const PUBLIC_URLS = new Set(['/healthz', '/readyz', '/api/v1/auth/login', '/api/v1/auth/refresh', '/openapi.json'])
const isPublicUrl = (url: string) => PUBLIC_URLS.has(url) || url === '/docs' || url.startsWith('/docs/')
// OPTIONS answers carry no credentials by design (CORS preflight, tus capability discovery),
// so an OPTIONS route may be public; it must never be more than a description of the server.
// The web UI's page and its built files (web/dist, when it is built) are public too, to read only.
const WEB_DIST = path.resolve(import.meta.dirname, '../web/dist')
const webFiles = new Set(fs.existsSync(WEB_DIST)
  ? fs.readdirSync(WEB_DIST, { recursive: true, withFileTypes: true }).filter((f) => f.isFile() && f.name !== 'index.html')
    .map((f) => `/${path.relative(WEB_DIST, path.join(f.parentPath, f.name)).split(path.sep).join('/')}`)
  : [])
const isWebUi = (method: string, url: string) => (method === 'GET' || method === 'HEAD') && (url === '/' || webFiles.has(url))
const isPublicRoute = (method: string, url: string) => isPublicUrl(url) || method === 'OPTIONS' || isWebUi(method, url)

/**
 * Every method and URL the router knows, read from Fastify's own route tree rather than from
 * the auth hook's table, so a route that escaped the hook would still be found.
 */
function routerRoutes (app: FastifyInstance): { method: string, url: string }[] {
  const out: { method: string, url: string }[] = []
  const stack: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│├└─\s]*)(.+?) \(([A-Z, ]+)\)$/.exec(line)
    if (!match) continue
    const depth = Math.max(0, (match[1] as string).length / 4 - 1)
    const url = `${depth > 0 ? stack[depth - 1] : ''}${match[2]}`
    stack[depth] = url
    stack.length = depth + 1
    for (const method of (match[3] as string).split(',').map((m) => m.trim())) out.push({ method, url })
  }
  return out
}

const fill = (url: string, id: string) => url.replace(/:\w+|\{\w+\}/g, id).replace(/\*$/, 'x')

for (const backend of await backends()) {
  describe(`authorization (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let admin: { user: User, session: Session }
    let member: { user: User, session: Session, key: string, bearerKey: string }
    let viewer: { user: User, session: Session }

    const unsafe = (s: Session) => ({ cookie: s.cookie, 'x-csrf-token': s.csrfToken })
    const signIn = async (role: 'admin' | 'member' | 'viewer') => {
      const user = await t.createUser(role)
      return { user, session: await t.login(user.email) }
    }

    before(async () => {
      t = await startApp(backend.name)
      admin = await signIn('admin')
      const m = await signIn('member')
      const scopes = ['files:read', 'files:write', 'jobs:read', 'jobs:write', 'translate']
      // Two keys: denials repeated by one key on one route within a minute are audited once.
      member = { ...m, key: await t.apiKey(m.session, scopes), bearerKey: await t.apiKey(m.session, scopes) }
      viewer = await signIn('viewer')
    })
    after(() => t?.close())

    it('every registered route declares its permission; the public ones are exactly the short list', () => {
      const table = t.app.routeAuthTable
      assert.ok(table.length >= 20, `only ${table.length} routes in the table`)
      assert.deepEqual(table.filter((r) => !r.auth), [], 'routes without a declared permission')
      const publicRoutes = table.filter((r) => r.auth && 'public' in r.auth)
      assert.deepEqual(publicRoutes.filter((r) => !isPublicRoute(r.method, r.url)), [], 'unexpected public routes')
      for (const r of publicRoutes) assert.ok(['GET', 'HEAD', 'POST', 'OPTIONS'].includes(r.method), `${r.method} ${r.url}`)
      const declared = new Set(publicRoutes.map((r) => `${r.method} ${r.url}`))
      for (const expected of ['GET /healthz', 'GET /readyz', 'POST /api/v1/auth/login', 'POST /api/v1/auth/refresh', 'GET /openapi.json', 'GET /docs']) {
        assert.ok(declared.has(expected), `${expected} should be public`)
      }
      // Only login and refresh accept an unauthenticated write.
      assert.deepEqual(publicRoutes.filter((r) => r.method === 'POST').map((r) => r.url).sort(), ['/api/v1/auth/login', '/api/v1/auth/refresh'])
    })

    it('the auth table covers every route the router knows', () => {
      const known = new Set(t.app.routeAuthTable.map((r) => `${r.method} ${r.url}`))
      const routes = routerRoutes(t.app)
      assert.ok(routes.length >= t.app.routeAuthTable.length - 2, 'the route tree was read')
      // Fastify registers a prefixed "/" route as both "/docs" and "/docs/" but reports it once.
      // Its tree also folds shared prefixes, so a wildcard may print shorter than it was registered.
      const covered = (method: string, url: string) => known.has(`${method} ${url}`) || known.has(`${method} ${url.replace(/\/$/, '')}`) ||
        (url.endsWith('*') && t.app.routeAuthTable.some((r) => r.method === method && r.url.endsWith('*') && r.url.startsWith(url.slice(0, -1))))
      const missing = routes.filter((r) => !covered(r.method, r.url))
      assert.deepEqual(missing, [])
    })

    it('answers 401 to an anonymous request on every non-public route', async () => {
      const routes = routerRoutes(t.app).filter((r) => !isPublicRoute(r.method, r.url))
      assert.ok(routes.length >= 15)
      for (const { method, url } of routes) {
        const res = await t.app.inject({
          method: method as 'GET',
          url: fill(url, randomUUID()),
          ...(['POST', 'PATCH', 'PUT'].includes(method) ? { payload: {} } : {})
        })
        assert.equal(res.statusCode, 401, `${method} ${url} → ${res.statusCode}`)
        assert.match(String(res.headers['www-authenticate']), /^Bearer/, `${method} ${url}`)
      }
      // And the public ones answer without credentials.
      for (const url of ['/healthz', '/readyz', '/openapi.json', '/docs/']) {
        assert.equal((await t.app.inject(url)).statusCode, 200, url)
      }
    })

    it("refuses a member's session and key on every admin route of the OpenAPI document, and audits it", async () => {
      const doc = (await t.app.inject('/openapi.json')).json() as { paths: Record<string, Record<string, unknown>> }
      const target = await t.createUser('viewer')
      const newEmail = uniqueEmail('escalated')
      const bodies: Record<string, unknown> = {
        post: { email: newEmail, password: PASSWORD, role: 'admin' },
        patch: { role: 'admin', tier: 'enterprise' }
      }
      const tried: string[] = []
      for (const [path, operations] of Object.entries(doc.paths)) {
        if (!path.startsWith('/api/v1/admin/')) continue
        for (const method of Object.keys(operations)) {
          if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue
          // PATCH aims at the member itself: if it went through, the member would be admin.
          const url = fill(path, method === 'patch' ? member.user.id : target.id)
          tried.push(`${method.toUpperCase()} ${path}`)
          const credentials: [string, Record<string, string>, (row: { actor_user_id: string | null, actor_key_id: string | null }) => void][] = [
            ['member session', unsafe(member.session), (row) => assert.equal(row.actor_user_id, member.user.id)],
            ['member key', { 'x-api-key': member.key }, (row) => assert.equal(row.actor_key_id, `tym_${member.key.split('_')[1]}`)],
            ['member bearer key', { authorization: `Bearer ${member.bearerKey}` }, (row) => assert.equal(row.actor_user_id, member.user.id)],
            ['viewer session', unsafe(viewer.session), (row) => assert.equal(row.actor_user_id, viewer.user.id)]
          ]
          for (const [who, headers, checkActor] of credentials) {
            const res = await t.app.inject({
              method: method.toUpperCase() as 'GET',
              url,
              headers,
              ...(bodies[method] ? { payload: bodies[method] } : {})
            })
            assert.equal(res.statusCode, 403, `${who}: ${method} ${path} → ${res.statusCode} ${res.body}`)
            assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
            const rows = await t.testDb.db.kysely.selectFrom('audit_log').selectAll()
              .where('request_id', '=', String(res.headers['x-request-id'])).execute()
            assert.equal(rows.length, 1, `${who}: ${method} ${path} audited once`)
            const row = rows[0]!
            assert.equal(row.action, 'authz.denied')
            assert.equal(row.status, 403)
            assert.equal(row.method, method.toUpperCase())
            checkActor(row)
          }
        }
      }
      assert.ok(tried.length >= 7, `only ${tried.length} admin operations in the OpenAPI document: ${tried.join(', ')}`)
      for (const expected of ['GET /api/v1/admin/users', 'POST /api/v1/admin/users', 'PATCH /api/v1/admin/users/{id}', 'DELETE /api/v1/admin/users/{id}/data', 'GET /api/v1/admin/audit']) {
        assert.ok(tried.includes(expected), `${expected} is in the OpenAPI document`)
      }
      // Nothing changed.
      const users = t.testDb.db.kysely.selectFrom('users').selectAll()
      assert.equal((await users.where('id', '=', member.user.id).executeTakeFirstOrThrow()).role, 'member')
      assert.ok(await users.where('id', '=', target.id).executeTakeFirst(), 'the target user still exists')
      assert.equal(await users.where('email', '=', newEmail).executeTakeFirst(), undefined)
    })

    it('keeps a viewer to viewer things', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: unsafe(viewer.session), payload: { name: 'v', scopes: ['files:write'] } })
      assert.equal(res.statusCode, 403)
      const jobs = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: unsafe(viewer.session), payload: { name: 'v', scopes: ['files:read', 'jobs:write'] } })
      assert.equal(jobs.statusCode, 403)
      const read = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: unsafe(viewer.session), payload: { name: 'v', scopes: ['files:read', 'jobs:read'] } })
      assert.equal(read.statusCode, 201)
      const me = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { 'x-api-key': read.json().key } })
      assert.deepEqual(me.json().scopes, ['files:read', 'jobs:read'])
      const session = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: viewer.session.cookie } })
      assert.deepEqual([...session.json().scopes].sort(), ['files:read', 'jobs:read'])
    })

    it("answers 404 for another user's objects, exactly as for missing ones", async () => {
      const other = await signIn('member')
      const otherKey = await t.apiKey(other.session, ['files:read'])
      const otherKeyId = otherKey.split('_')[1] as string
      const otherSession = await t.testDb.db.kysely.selectFrom('sessions').select('id').where('user_id', '=', other.user.id).executeTakeFirstOrThrow()

      const attempts: [string, string, string][] = [
        ['DELETE', `/api/v1/auth/sessions/${otherSession.id}`, `/api/v1/auth/sessions/${randomUUID()}`],
        ['DELETE', `/api/v1/keys/${otherKeyId}`, `/api/v1/keys/${randomBytes(6).toString('hex')}`],
        ['POST', `/api/v1/keys/${otherKeyId}/rotate`, `/api/v1/keys/${randomBytes(6).toString('hex')}/rotate`]
      ]
      for (const [method, url, missingUrl] of attempts) {
        const res = await t.app.inject({ method: method as 'GET', url, headers: unsafe(member.session) })
        const missing = await t.app.inject({ method: method as 'GET', url: missingUrl, headers: unsafe(member.session) })
        assert.equal(res.statusCode, 404, `${method} ${url}`)
        assert.equal(missing.statusCode, 404)
        assert.equal(res.json().detail, missing.json().detail, 'same answer as for a missing object')
      }
      // A member cannot address other users at all, existing or not: the same 403 either way.
      for (const id of [other.user.id, randomUUID()]) {
        const res = await t.app.inject({ method: 'GET', url: `/api/v1/admin/users/${id}`, headers: { cookie: member.session.cookie } })
        assert.equal(res.statusCode, 403)
      }
      // The other user's things are untouched.
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { 'x-api-key': otherKey } })).statusCode, 200)
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: other.session.cookie } })).statusCode, 200)
      // An admin reaching for a user that does not exist also gets a plain 404.
      const ghost = randomUUID()
      for (const [method, url] of [['GET', `/api/v1/admin/users/${ghost}`], ['GET', `/api/v1/admin/users/${ghost}/export`], ['DELETE', `/api/v1/admin/users/${ghost}/data`]] as const) {
        assert.equal((await t.app.inject({ method, url, headers: unsafe(admin.session) })).statusCode, 404, `${method} ${url}`)
      }
      const patchGhost = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${ghost}`, headers: unsafe(admin.session), payload: { tier: 'premium' } })
      assert.equal(patchGhost.statusCode, 404)
    })

    it('rejects unknown and read-only fields in request bodies (no mass assignment)', async () => {
      const keysBefore = (await t.testDb.db.kysely.selectFrom('api_keys').select('id').execute()).length
      for (const extra of [{ userId: admin.user.id }, { user_id: admin.user.id }, { id: 'a1b2c3d4e5f6' }, { revokedAt: null }, { role: 'admin' }]) {
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: unsafe(member.session), payload: { name: 'k', scopes: ['files:read'], ...extra } })
        assert.equal(res.statusCode, 422, JSON.stringify(extra))
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
      }
      assert.equal((await t.testDb.db.kysely.selectFrom('api_keys').select('id').execute()).length, keysBefore)

      const target = await t.createUser('member')
      for (const extra of [{ email: 'taken-over@example.test' }, { id: randomUUID() }, { is_service: true }, { password_hash: 'x' }, { createdAt: new Date().toISOString() }]) {
        const res = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${target.id}`, headers: unsafe(admin.session), payload: { tier: 'premium', ...extra } })
        assert.equal(res.statusCode, 422, JSON.stringify(extra))
        assert.ok(res.json().errors.some((e: { message: string }) => /not an allowed field/.test(e.message)), res.body)
      }
      const unchanged = await t.testDb.db.kysely.selectFrom('users').selectAll().where('id', '=', target.id).executeTakeFirstOrThrow()
      assert.equal(unchanged.email, target.email)
      assert.equal(unchanged.tier, 'free')

      // A member cannot set their own role through the self-service routes either.
      const password = await t.app.inject({ method: 'POST', url: '/api/v1/me/password', headers: unsafe(member.session), payload: { currentPassword: PASSWORD, newPassword: 'another long passphrase here', role: 'admin' } })
      assert.equal(password.statusCode, 422)
      const create = await t.app.inject({ method: 'POST', url: '/api/v1/admin/users', headers: unsafe(admin.session), payload: { email: uniqueEmail(), password: PASSWORD, role: 'member', disabled: false } })
      assert.equal(create.statusCode, 422)
      assert.equal((await t.testDb.db.kysely.selectFrom('users').select('role').where('id', '=', member.user.id).executeTakeFirstOrThrow()).role, 'member')
    })

    it('never answers with password hashes, key hashes or other internal fields', async () => {
      const adminKey = await t.apiKey(admin.session, ['admin'])
      // Something worth leaking in every list: a rotated key, a refresh, a failed login.
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: member.user.email, password: 'wrong password, not it' } })
      const bodies: [string, string][] = []
      const get = async (url: string, headers: Record<string, string>) => {
        const res = await t.app.inject({ method: 'GET', url, headers })
        assert.equal(res.statusCode, 200, `${url}: ${res.body}`)
        bodies.push([url, res.body])
      }
      await get('/api/v1/me', { cookie: member.session.cookie })
      await get('/api/v1/me', { 'x-api-key': member.key })
      await get('/api/v1/me/export', { cookie: member.session.cookie })
      await get('/api/v1/keys', { cookie: member.session.cookie })
      await get('/api/v1/auth/sessions', { cookie: member.session.cookie })
      await get('/api/v1/admin/users?limit=200', { cookie: admin.session.cookie })
      await get(`/api/v1/admin/users/${member.user.id}`, { 'x-api-key': adminKey })
      await get(`/api/v1/admin/users/${member.user.id}/export`, { cookie: admin.session.cookie })
      await get('/api/v1/admin/audit?limit=200', { cookie: admin.session.cookie })
      const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: member.user.email, password: PASSWORD } })
      bodies.push(['login', login.body])

      const db = t.testDb.db.kysely
      const secrets = [
        ...(await db.selectFrom('users').select('password_hash').execute()).map((r) => r.password_hash).filter((h): h is string => Boolean(h)),
        ...(await db.selectFrom('api_keys').select('secret_hash').execute()).map((r) => r.secret_hash),
        ...(await db.selectFrom('refresh_tokens').select('token_hash').execute()).map((r) => r.token_hash)
      ]
      assert.ok(secrets.length > 5)
      for (const [url, body] of bodies) {
        for (const forbidden of ['password_hash', 'passwordHash', 'secret_hash', 'secretHash', 'token_hash', '$argon2', 'is_service', 'isService']) {
          assert.ok(!body.includes(forbidden), `${url} contains ${forbidden}`)
        }
        for (const secret of secrets) assert.ok(!body.includes(secret), `${url} contains a stored hash`)
        assert.ok(!body.includes(member.key.split('_').slice(2).join('_')), `${url} contains a key secret`)
      }
    })
  })
}
