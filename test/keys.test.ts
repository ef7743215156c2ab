import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { backends } from './helpers/db.ts'
import { startApp, type Session, type TestApp } from './helpers/app.ts'

const keyId = (key: string) => key.split('_')[1] as string
const keySecret = (key: string) => key.split('_').slice(2).join('_')

for (const backend of await backends()) {
  describe(`API keys (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    before(async () => { t = await startApp(backend.name) })
    after(() => t?.close())

    const unsafe = (s: Session) => ({ cookie: s.cookie, 'x-csrf-token': s.csrfToken })
    const me = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/api/v1/me', headers })
    const createKey = (s: Session, payload: Record<string, unknown>) =>
      t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: unsafe(s), payload })

    async function member (role: 'admin' | 'member' | 'viewer' = 'member') {
      const user = await t.createUser(role)
      return { user, session: await t.login(user.email) }
    }

    it('shows the key once on creation, never in the list, and marks the answer no-store', async () => {
      const { session } = await member()
      const res = await createKey(session, { name: 'laptop', scopes: ['files:read', 'jobs:read'] })
      assert.equal(res.statusCode, 201)
      assert.equal(res.headers['cache-control'], 'no-store')
      const body = res.json()
      assert.match(body.key, /^tym_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/)
      assert.equal(body.id, keyId(body.key))
      assert.equal(body.name, 'laptop')
      assert.deepEqual(body.scopes, ['files:read', 'jobs:read'])
      assert.equal(body.expiresAt, null)
      assert.equal(body.prefix, `tym_${body.id}`)

      const stored = await t.testDb.db.kysely.selectFrom('api_keys').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow()
      assert.ok(!stored.secret_hash.includes(keySecret(body.key)), 'the secret is not stored in clear')

      const list = await t.app.inject({ method: 'GET', url: '/api/v1/keys', headers: { cookie: session.cookie } })
      assert.equal(list.statusCode, 200)
      assert.equal(list.headers['cache-control'], 'no-store')
      assert.equal(list.json().items.length, 1)
      assert.equal(list.json().items[0].id, body.id)
      assert.equal(list.json().items[0].key, undefined)
      assert.ok(!list.body.includes(keySecret(body.key)), 'the list never holds the secret')
      assert.ok(!list.body.includes(stored.secret_hash), 'the list never holds the hash')
      assert.ok(!/secret|hash/i.test(list.body))
    })

    it('authenticates with X-API-Key and with Authorization: Bearer', async () => {
      const { user, session } = await member()
      const key = await t.apiKey(session, ['files:read'])
      const variants: Record<string, string>[] = [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }]
      for (const headers of variants) {
        const res = await me(headers)
        assert.equal(res.statusCode, 200, res.body)
        assert.equal(res.json().user.id, user.id)
        assert.equal(res.json().authenticatedBy, 'api_key')
        assert.deepEqual(res.json().scopes, ['files:read'])
      }
    })

    it('refuses a key in the query string, even a valid one', async () => {
      const { session } = await member()
      const key = await t.apiKey(session, ['files:read'])
      for (const url of [`/api/v1/me?api_key=${key}`, `/api/v1/me?key=${key}`, `/api/v1/me?x=1&apikey=${key}`, `/api/v1/keys?api-key=${key}`]) {
        const res = await t.app.inject({ method: 'GET', url })
        assert.equal(res.statusCode, 401, url)
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
      }
      // Not even alongside a valid header: a URL with a credential in it is a leak to refuse loudly.
      const both = await t.app.inject({ method: 'GET', url: `/api/v1/me?api_key=${key}`, headers: { 'x-api-key': key } })
      assert.equal(both.statusCode, 401)
    })

    it('refuses a revoked key on the very next request', async () => {
      const { session } = await member()
      const key = await t.apiKey(session, ['files:read'])
      assert.equal((await me({ 'x-api-key': key })).statusCode, 200)
      const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${keyId(key)}`, headers: unsafe(session) })
      assert.equal(del.statusCode, 204)
      assert.equal((await me({ 'x-api-key': key })).statusCode, 401)
      assert.equal((await me({ authorization: `Bearer ${key}` })).statusCode, 401)
      const listed = (await t.app.inject({ method: 'GET', url: '/api/v1/keys', headers: { cookie: session.cookie } })).json().items
      assert.ok(listed[0].revokedAt)
      // A revoked key cannot be brought back by rotation.
      const rotate = await t.app.inject({ method: 'POST', url: `/api/v1/keys/${keyId(key)}/rotate`, headers: unsafe(session) })
      assert.equal(rotate.statusCode, 422)
      assert.equal((await me({ 'x-api-key': key })).statusCode, 401)
    })

    it('rotates: the new secret works under the same id, the old one is dead at once', async () => {
      const { session } = await member()
      const old = await t.apiKey(session, ['files:read', 'jobs:read'])
      assert.equal((await me({ 'x-api-key': old })).statusCode, 200)
      const res = await t.app.inject({ method: 'POST', url: `/api/v1/keys/${keyId(old)}/rotate`, headers: unsafe(session) })
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['cache-control'], 'no-store')
      const rotated = res.json()
      assert.equal(rotated.id, keyId(old))
      assert.notEqual(rotated.key, old)
      assert.equal(keyId(rotated.key), keyId(old))
      assert.deepEqual(rotated.scopes, ['files:read', 'jobs:read'])
      assert.equal((await me({ 'x-api-key': old })).statusCode, 401)
      assert.equal((await me({ 'x-api-key': rotated.key })).statusCode, 200)
      assert.equal((await me({ authorization: `Bearer ${rotated.key}` })).statusCode, 200)
    })

    it('refuses an expired key', async () => {
      const { session } = await member()
      const expiresAt = new Date(Date.now() + 1500)
      const res = await createKey(session, { name: 'short-lived', scopes: ['files:read'], expiresAt: expiresAt.toISOString() })
      assert.equal(res.statusCode, 201)
      assert.equal(res.json().expiresAt, expiresAt.toISOString())
      const key = res.json().key
      assert.equal((await me({ 'x-api-key': key })).statusCode, 200)
      await sleep(expiresAt.getTime() - Date.now() + 50)
      assert.equal((await me({ 'x-api-key': key })).statusCode, 401)
      assert.equal((await me({ authorization: `Bearer ${key}` })).statusCode, 401)
    })

    it('validates the request: past expiry, unknown scopes, scopes beyond the role', async () => {
      const { session } = await member()
      const count = async () => (await t.testDb.db.kysely.selectFrom('api_keys').select('id').execute()).length
      const before = await count()
      const past = await createKey(session, { name: 'k', scopes: ['files:read'], expiresAt: new Date(Date.now() - 60_000).toISOString() })
      assert.equal(past.statusCode, 422)
      const unknown = await createKey(session, { name: 'k', scopes: ['files:read', 'root'] })
      assert.equal(unknown.statusCode, 422)
      const beyond = await createKey(session, { name: 'k', scopes: ['files:read', 'admin'] })
      assert.equal(beyond.statusCode, 403)
      assert.match(beyond.json().detail, /admin/)
      const empty = await createKey(session, { name: 'k', scopes: [] })
      assert.equal(empty.statusCode, 422)
      const noName = await createKey(session, { scopes: ['files:read'] })
      assert.equal(noName.statusCode, 422)
      assert.equal(await count(), before, 'no key was stored')
    })

    it('does not let a key manage keys', async () => {
      const { session } = await member('admin')
      const key = await t.apiKey(session, ['files:read', 'admin'])
      for (const headers of [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }]) {
        const create = await t.app.inject({ method: 'POST', url: '/api/v1/keys', headers, payload: { name: 'child', scopes: ['files:read'] } })
        assert.equal(create.statusCode, 403)
        assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/keys', headers })).statusCode, 403)
        assert.equal((await t.app.inject({ method: 'POST', url: `/api/v1/keys/${keyId(key)}/rotate`, headers })).statusCode, 403)
        assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${keyId(key)}`, headers })).statusCode, 403)
      }
      assert.equal((await me({ 'x-api-key': key })).statusCode, 200, 'the key survived')
    })

    it('limits a key to its scopes, even when the owner has more', async () => {
      const { session } = await member('admin')
      const narrow = await t.apiKey(session, ['files:read'])
      const denied = await t.app.inject({ method: 'GET', url: '/api/v1/admin/users', headers: { 'x-api-key': narrow } })
      assert.equal(denied.statusCode, 403)
      const wide = await t.apiKey(session, ['admin'])
      const allowed = await t.app.inject({ method: 'GET', url: '/api/v1/admin/users', headers: { 'x-api-key': wide } })
      assert.equal(allowed.statusCode, 200)
    })

    it("shrinks a key's scopes when the owner's role is lowered", async () => {
      const { user, session } = await member()
      const key = await t.apiKey(session, ['jobs:read', 'jobs:write'])
      assert.deepEqual((await me({ 'x-api-key': key })).json().scopes, ['jobs:read', 'jobs:write'])
      const admin = await member('admin')
      const patch = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${user.id}`, headers: unsafe(admin.session), payload: { role: 'viewer' } })
      assert.equal(patch.statusCode, 200)
      const after = await me({ 'x-api-key': key })
      assert.equal(after.statusCode, 200)
      assert.deepEqual(after.json().scopes, ['jobs:read'])
      assert.equal(after.json().user.role, 'viewer')
    })

    it('records when a key was last used', async () => {
      const { session } = await member()
      const key = await t.apiKey(session, ['files:read'])
      const row = () => t.testDb.db.kysely.selectFrom('api_keys').select('last_used_at').where('id', '=', keyId(key)).executeTakeFirstOrThrow()
      assert.equal((await row()).last_used_at, null)
      const start = Date.now()
      assert.equal((await me({ 'x-api-key': key })).statusCode, 200)
      const used = (await row()).last_used_at
      assert.ok(used instanceof Date)
      assert.ok(Math.abs(used.getTime() - start) < 60_000)
      const listed = (await t.app.inject({ method: 'GET', url: '/api/v1/keys', headers: { cookie: session.cookie } })).json().items
      assert.equal(listed[0].lastUsedAt, used.toISOString())
    })

    it("answers 404 for another user's key, and leaves it alone", async () => {
      const owner = await member()
      const other = await member()
      const key = await t.apiKey(owner.session, ['files:read'])
      const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${keyId(key)}`, headers: unsafe(other.session) })
      assert.equal(del.statusCode, 404)
      const rotate = await t.app.inject({ method: 'POST', url: `/api/v1/keys/${keyId(key)}/rotate`, headers: unsafe(other.session) })
      assert.equal(rotate.statusCode, 404)
      // Same answer as for an id that does not exist at all: no existence leak.
      const missing = await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${randomBytes(6).toString('hex')}`, headers: unsafe(other.session) })
      assert.equal(missing.statusCode, 404)
      assert.equal(missing.json().detail, del.json().detail)
      assert.equal((await me({ 'x-api-key': key })).statusCode, 200)
      const otherList = (await t.app.inject({ method: 'GET', url: '/api/v1/keys', headers: { cookie: other.session.cookie } })).json().items
      assert.deepEqual(otherList, [])
    })

    it('audits creation, revocation and rotation, never with the secret', async () => {
      const { user, session } = await member()
      const res = await createKey(session, { name: 'audited', scopes: ['files:read'] })
      const first = res.json().key as string
      const rotated = (await t.app.inject({ method: 'POST', url: `/api/v1/keys/${keyId(first)}/rotate`, headers: unsafe(session) })).json().key as string
      await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${keyId(first)}`, headers: unsafe(session) })
      const rows = await t.testDb.db.kysely.selectFrom('audit_log').selectAll()
        .where('actor_user_id', '=', user.id).where('action', 'like', 'key.%').orderBy('id').execute()
      assert.deepEqual(rows.map((r) => r.action), ['key.created', 'key.rotated', 'key.revoked'])
      for (const row of rows) {
        assert.equal(row.detail.keyId, keyId(first))
        const text = JSON.stringify(row)
        for (const secret of [first, rotated, keySecret(first), keySecret(rotated)]) assert.ok(!text.includes(secret), `${row.action} leaks a secret`)
      }
      // Requests made with the key name it by its display id, never by the key.
      await me({ 'x-api-key': rotated })
      const everything = JSON.stringify(await t.testDb.db.kysely.selectFrom('audit_log').selectAll().execute())
      for (const secret of [keySecret(first), keySecret(rotated)]) assert.ok(!everything.includes(secret))
    })
  })

  describe(`internal service keys (${backend.name})`, { skip: backend.skip }, () => {
    const internalKey = randomBytes(32).toString('base64url')
    let t: TestApp
    before(async () => {
      t = await startApp(backend.name, { INTERNAL_API_KEYS: `${randomBytes(32).toString('base64url')},${internalKey}` })
      // /readyz touches the storage, so it also waits out the file store's start-up I/O, which
      // would otherwise still be running when this short suite closes the app.
      assert.equal((await t.app.inject('/readyz')).statusCode, 200)
    })
    after(() => t?.close())

    it('authenticates INTERNAL_API_KEYS as the service principal', async () => {
      for (const headers of [{ 'x-api-key': internalKey }, { authorization: `Bearer ${internalKey}` }]) {
        const res = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers })
        assert.equal(res.statusCode, 200, res.body)
        assert.equal(res.json().authenticatedBy, 'internal')
        assert.notEqual(res.json().user.role, 'admin')
        assert.ok(!res.body.includes(internalKey))
      }
      const admin = await t.app.inject({ method: 'GET', url: '/api/v1/admin/users', headers: { 'x-api-key': internalKey } })
      assert.equal(admin.statusCode, 403)
      // The service account cannot sign in with a password, and is not listed as a user.
      const svc = await t.testDb.db.kysely.selectFrom('users').selectAll().where('is_service', '=', true).executeTakeFirstOrThrow()
      assert.equal(svc.password_hash, null)
    })

    it('refuses a wrong internal key', async () => {
      for (const wrong of [randomBytes(32).toString('base64url'), `${internalKey}x`, internalKey.slice(0, -1)]) {
        const res = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { 'x-api-key': wrong } })
        assert.equal(res.statusCode, 401)
      }
      const query = await t.app.inject({ method: 'GET', url: `/api/v1/me?api_key=${internalKey}` })
      assert.equal(query.statusCode, 401)
    })
  })
}
