import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import type { User } from '../src/db/schema.ts'
import { bootstrapAdmin } from '../src/modules/users/bootstrap.ts'
import { backends } from './helpers/db.ts'
import { startApp, uniqueEmail, PASSWORD, type Session, type TestApp } from './helpers/app.ts'

interface AuditItem {
  id: number
  at: string
  actorUserId: string | null
  actorKeyId: string | null
  action: string
  status: number | null
  detail: Record<string, unknown>
}

const keySecret = (key: string) => key.split('_').slice(2).join('_')
const NEW_PASSWORD = 'a different long passphrase'

for (const backend of await backends()) {
  describe(`admin users, audit and personal data (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    let admin: { user: User, session: Session }

    const unsafe = (s: Session) => ({ cookie: s.cookie, 'x-csrf-token': s.csrfToken })
    const signIn = async (role: 'admin' | 'member' | 'viewer' = 'member') => {
      const user = await t.createUser(role)
      return { user, session: await t.login(user.email) }
    }
    const asAdmin = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
      t.app.inject({ method, url, headers: unsafe(admin.session), ...(payload ? { payload } : {}) })
    const me = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/api/v1/me', headers })
    const audit = async (query: string): Promise<{ items: AuditItem[], nextCursor: number | null }> => {
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/admin/audit?${query}`, headers: { cookie: admin.session.cookie } })
      assert.equal(res.statusCode, 200, `${query}: ${res.body}`)
      return res.json()
    }
    const auditPages = async (query: string, limit: number) => {
      const items: AuditItem[] = []
      let cursor: number | null = null
      let pages = 0
      do {
        const page = await audit(`${query}&limit=${limit}${cursor !== null ? `&cursor=${cursor}` : ''}`)
        assert.ok(page.items.length <= limit)
        items.push(...page.items)
        cursor = page.nextCursor
        assert.ok(++pages < 200, 'pagination ends')
      } while (cursor !== null)
      return { items, pages }
    }

    before(async () => {
      t = await startApp(backend.name)
      admin = await signIn('admin')
    })
    after(() => t?.close())

    it('creates a user, and refuses duplicates, weak passwords and bad emails', async () => {
      const email = uniqueEmail('Created')
      const res = await asAdmin('POST', '/api/v1/admin/users', { email, password: PASSWORD, role: 'member', tier: 'premium' })
      assert.equal(res.statusCode, 201, res.body)
      const created = res.json()
      assert.equal(created.email, email)
      assert.equal(created.role, 'member')
      assert.equal(created.tier, 'premium')
      assert.equal(created.disabled, false)
      assert.match(created.id, /^[0-9a-f-]{36}$/)
      assert.deepEqual(Object.keys(created).sort(), ['createdAt', 'disabled', 'email', 'id', 'mustChangePassword', 'role', 'tier', 'updatedAt'])
      assert.equal(created.mustChangePassword, true, 'a password the admin chose is one-time')
      // The new user can sign in.
      await t.login(email)
      const defaults = await asAdmin('POST', '/api/v1/admin/users', { email: uniqueEmail(), password: PASSWORD, role: 'viewer' })
      assert.equal(defaults.statusCode, 201)
      assert.equal(defaults.json().tier, 'free')

      const count = async () => (await t.testDb.db.kysely.selectFrom('users').select('id').execute()).length
      const before = await count()
      const duplicate = await asAdmin('POST', '/api/v1/admin/users', { email: email.toUpperCase(), password: PASSWORD, role: 'member' })
      assert.equal(duplicate.statusCode, 409)
      const spaced = await asAdmin('POST', '/api/v1/admin/users', { email: `  ${email.toLowerCase()} `, password: PASSWORD, role: 'member' })
      assert.equal(spaced.statusCode, 409)
      for (const password of ['short', 'qwerty123456', '1q2w3e4r5t6y', 'a'.repeat(20), 'x'.repeat(257)]) {
        const weak = await asAdmin('POST', '/api/v1/admin/users', { email: uniqueEmail(), password, role: 'member' })
        assert.equal(weak.statusCode, 422, `${password}: ${weak.body}`)
        assert.match(weak.json().detail, /[Pp]assword/)
      }
      for (const bad of ['not-an-email', 'two@@example.test', 'spaces in@example.test', 'nodot@example', '@example.test']) {
        const res = await asAdmin('POST', '/api/v1/admin/users', { email: bad, password: PASSWORD, role: 'member' })
        assert.equal(res.statusCode, 422, `${bad}: ${res.body}`)
      }
      const badRole = await asAdmin('POST', '/api/v1/admin/users', { email: uniqueEmail(), password: PASSWORD, role: 'root' })
      assert.equal(badRole.statusCode, 422)
      assert.equal(await count(), before, 'nothing was created')

      const rows = await t.testDb.db.kysely.selectFrom('audit_log').selectAll().where('action', '=', 'admin.user.created').execute()
      const row = rows.find((r) => r.detail.userId === created.id)
      assert.ok(row, 'admin.user.created is audited')
      assert.equal(row.actor_user_id, admin.user.id)
      assert.ok(!JSON.stringify(rows).includes(PASSWORD))
    })

    it('lists users with cursor pagination: every user once', async () => {
      const mine = []
      for (let i = 0; i < 5; i++) mine.push((await t.createUser('viewer', { tier: 'premium' })).id)
      const seen: string[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const res: LightMyRequestResponse = await t.app.inject({ method: 'GET', url: `/api/v1/admin/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`, headers: { cookie: admin.session.cookie } })
        assert.equal(res.statusCode, 200, res.body)
        const page = res.json() as { items: { id: string }[], nextCursor: string | null }
        assert.ok(page.items.length <= 2)
        seen.push(...page.items.map((u) => u.id))
        cursor = page.nextCursor
        assert.ok(++pages < 100)
      } while (cursor)
      assert.equal(new Set(seen).size, seen.length, 'no user twice')
      const all = await t.testDb.db.kysely.selectFrom('users').select('id').where('is_service', '=', false).execute()
      assert.deepEqual([...seen].sort(), all.map((u) => u.id).sort(), 'every user seen')
      for (const id of mine) assert.ok(seen.includes(id))
      assert.ok(pages >= 3)

      const filtered = await t.app.inject({ method: 'GET', url: '/api/v1/admin/users?role=viewer&tier=premium&limit=200', headers: { cookie: admin.session.cookie } })
      const ids = filtered.json().items.map((u: { id: string }) => u.id)
      for (const id of mine) assert.ok(ids.includes(id))
      assert.ok(filtered.json().items.every((u: { role: string, tier: string }) => u.role === 'viewer' && u.tier === 'premium'))

      const bad = await t.app.inject({ method: 'GET', url: `/api/v1/admin/users?cursor=${Buffer.from('["nonsense"]').toString('base64url')}`, headers: { cookie: admin.session.cookie } })
      assert.equal(bad.statusCode, 422)
    })

    it('gets one user and changes role and tier', async () => {
      const { user, session } = await signIn('viewer')
      const one = await asAdmin('GET', `/api/v1/admin/users/${user.id}`)
      assert.equal(one.statusCode, 200)
      assert.equal(one.json().email, user.email)
      const patch = await asAdmin('PATCH', `/api/v1/admin/users/${user.id}`, { role: 'member', tier: 'enterprise' })
      assert.equal(patch.statusCode, 200, patch.body)
      assert.equal(patch.json().role, 'member')
      assert.equal(patch.json().tier, 'enterprise')
      // The user's own session sees the new role at once.
      const self = await me({ cookie: session.cookie })
      assert.equal(self.json().user.role, 'member')
      assert.ok(self.json().scopes.includes('jobs:write'))
      const empty = await asAdmin('PATCH', `/api/v1/admin/users/${user.id}`, {})
      assert.equal(empty.statusCode, 422)
      const rows = await t.testDb.db.kysely.selectFrom('audit_log').selectAll().where('action', '=', 'admin.user.updated').execute()
      const row = rows.find((r) => r.detail.userId === user.id)
      assert.ok(row)
      assert.equal(row.detail.role, 'member')
      assert.equal(row.detail.tier, 'enterprise')
    })

    it('disabling a user ends all their sessions and keys at once', async () => {
      const { user, session } = await signIn('member')
      const second = await t.login(user.email)
      const key = await t.apiKey(session, ['files:read'])
      assert.equal((await me({ cookie: session.cookie })).statusCode, 200)
      assert.equal((await me({ 'x-api-key': key })).statusCode, 200)

      const res = await asAdmin('PATCH', `/api/v1/admin/users/${user.id}`, { disabled: true })
      assert.equal(res.statusCode, 200)
      assert.equal(res.json().disabled, true)
      assert.equal((await me({ cookie: session.cookie })).statusCode, 401)
      assert.equal((await me({ cookie: second.cookie })).statusCode, 401)
      assert.equal((await me({ 'x-api-key': key })).statusCode, 401)
      assert.equal((await me({ authorization: `Bearer ${key}` })).statusCode, 401)
      const refresh = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: second.cookies.tympan_refresh } })
      assert.equal(refresh.statusCode, 401)
      const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD } })
      assert.equal(login.statusCode, 401)

      const db = t.testDb.db.kysely
      const sessions = await db.selectFrom('sessions').selectAll().where('user_id', '=', user.id).execute()
      assert.ok(sessions.length >= 2 && sessions.every((s) => s.revoked_at !== null))
      const keys = await db.selectFrom('api_keys').selectAll().where('user_id', '=', user.id).execute()
      assert.ok(keys.every((k) => k.revoked_at !== null))

      // Enabling again does not bring the old credentials back.
      assert.equal((await asAdmin('PATCH', `/api/v1/admin/users/${user.id}`, { disabled: false })).statusCode, 200)
      assert.equal((await me({ cookie: session.cookie })).statusCode, 401)
      assert.equal((await me({ 'x-api-key': key })).statusCode, 401)
      assert.equal((await me({ cookie: (await t.login(user.email)).cookie })).statusCode, 200)
    })

    it("an admin's password reset ends the user's sessions", async () => {
      const { user, session } = await signIn('member')
      const weak = await asAdmin('PATCH', `/api/v1/admin/users/${user.id}`, { password: 'password' })
      assert.equal(weak.statusCode, 422)
      assert.equal((await me({ cookie: session.cookie })).statusCode, 200, 'a refused reset changes nothing')

      const res = await asAdmin('PATCH', `/api/v1/admin/users/${user.id}`, { password: NEW_PASSWORD })
      assert.equal(res.statusCode, 200)
      assert.equal((await me({ cookie: session.cookie })).statusCode, 401)
      const old = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD } })
      assert.equal(old.statusCode, 401)
      assert.equal((await me({ cookie: (await t.login(user.email, NEW_PASSWORD)).cookie })).statusCode, 200)
      const rows = await t.testDb.db.kysely.selectFrom('audit_log').selectAll().where('action', '=', 'admin.user.updated').execute()
      const row = rows.find((r) => r.detail.userId === user.id && r.detail.passwordReset === true)
      assert.ok(row, 'the reset is audited')
      assert.ok(!JSON.stringify(rows).includes(NEW_PASSWORD))
    })

    it('filters the audit log by actor, action and time, and pages through it', async () => {
      const { user, session } = await signIn('member')
      await t.apiKey(session, ['files:read'])
      await t.app.inject({ method: 'GET', url: '/api/v1/admin/users', headers: { cookie: session.cookie } }) // authz.denied
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: 'not the right password' } })
      await t.login(user.email)

      const byActor = await audit(`actor=${user.id}&limit=200`)
      assert.ok(byActor.items.length >= 5, JSON.stringify(byActor.items.map((i) => i.action)))
      assert.ok(byActor.items.every((i) => i.actorUserId === user.id))
      const actions = new Set(byActor.items.map((i) => i.action))
      for (const action of ['auth.login.success', 'auth.login.failure', 'key.created', 'authz.denied']) assert.ok(actions.has(action), action)
      const ids = byActor.items.map((i) => i.id)
      assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first')

      const exact = await audit('action=auth.login.success&limit=200')
      assert.ok(exact.items.length >= 2)
      assert.ok(exact.items.every((i) => i.action === 'auth.login.success'))
      const prefix = await audit('action=auth.*&limit=200')
      assert.ok(prefix.items.every((i) => i.action.startsWith('auth.')), 'auth.* does not match authz.*')
      assert.ok(new Set(prefix.items.map((i) => i.action)).size >= 2)
      const keysOnly = await audit(`action=key.*&actor=${user.id}`)
      assert.deepEqual(keysOnly.items.map((i) => i.action), ['key.created'])
      const nothing = await audit('action=no.such.action')
      assert.deepEqual(nothing.items, [])
      // "_" is allowed in action names and must not act as a LIKE wildcard.
      assert.deepEqual((await audit('action=auth_login.*')).items, [])

      // Time range: [from, to).
      const from = new Date()
      const marker = `marker-${randomBytes(4).toString('hex')}@example.test`
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: marker, password: 'whatever it is here' } })
      const to = new Date(Date.now() + 1)
      const hasMarker = (items: AuditItem[]) => items.some((i) => i.detail.email === marker)
      const inRange = await audit(`from=${from.toISOString()}&to=${to.toISOString()}&limit=200`)
      assert.ok(hasMarker(inRange.items), 'the marker is in its time range')
      for (const item of inRange.items) assert.ok(new Date(item.at) >= new Date(from.getTime() - 1) && new Date(item.at) < to, item.at)
      assert.ok(!hasMarker((await audit(`to=${from.toISOString()}&limit=200`)).items), 'nothing before from')
      assert.ok(!hasMarker((await audit(`from=${to.toISOString()}&limit=200`)).items), 'nothing after to')
      const backwards = await t.app.inject({ method: 'GET', url: `/api/v1/admin/audit?from=${to.toISOString()}&to=${from.toISOString()}`, headers: { cookie: admin.session.cookie } })
      assert.equal(backwards.statusCode, 422)
      for (const bad of ['actor=not-a-uuid', 'action=auth.%25', 'from=yesterday', 'cursor=0', 'limit=0', 'limit=201', 'other=1']) {
        const res = await t.app.inject({ method: 'GET', url: `/api/v1/admin/audit?${bad}`, headers: { cookie: admin.session.cookie } })
        assert.equal(res.statusCode, 422, bad)
      }

      // Cursor pagination: every row once, in order, whatever the page size.
      const expected = (await t.testDb.db.kysely.selectFrom('audit_log').select('id').where('actor_user_id', '=', user.id).orderBy('id', 'desc').execute()).map((r) => r.id)
      for (const limit of [1, 2, 3]) {
        const { items, pages } = await auditPages(`actor=${user.id}`, limit)
        assert.deepEqual(items.map((i) => i.id), expected, `limit=${limit}`)
        assert.equal(pages, Math.max(1, Math.ceil(expected.length / limit)))
      }
      const { items: allAuth } = await auditPages('action=auth.*', 7)
      assert.equal(new Set(allAuth.map((i) => i.id)).size, allAuth.length)
      assert.equal(allAuth.length, prefix.items.length + 1, 'every auth.* row, including the marker')
    })

    it('escapes control characters in logged values', async () => {
      const tag = randomBytes(4).toString('hex')
      const email = `evil${tag}\n\u202e\u0007x@example.test`
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: 'whatever it is here' } })
      assert.equal(res.statusCode, 401)
      const items = (await audit('action=auth.login.failure&limit=200')).items
      const item = items.find((i) => String(i.detail.email).includes(tag))
      assert.ok(item, 'the failure is audited')
      const logged = String(item.detail.email)
      assert.equal(logged, `evil${tag}\\u000a\\u202e\\u0007x@example.test`)
      const raw = ['\n', '\u202e', '\u0007']
      assert.ok(raw.every((c) => !logged.includes(c)))
      const row = await t.testDb.db.kysely.selectFrom('audit_log').select('detail').where('id', '=', item.id).executeTakeFirstOrThrow()
      assert.equal(row.detail.email, logged, 'stored escaped, not only shown escaped')
    })

    it('a password an admin chose is one-time: until it is changed, only who-am-I, the change and sign-out work', async () => {
      const email = uniqueEmail('onetime')
      assert.equal((await asAdmin('POST', '/api/v1/admin/users', { email, password: PASSWORD, role: 'member' })).statusCode, 201)
      const session = await t.login(email)
      const whoAmI = await me({ cookie: session.cookie })
      assert.equal(whoAmI.statusCode, 200)
      assert.equal(whoAmI.json().user.mustChangePassword, true)
      for (const [method, url] of [['GET', '/api/v1/files'], ['GET', '/api/v1/jobs'], ['POST', '/api/v1/keys'], ['GET', '/api/v1/auth/sessions'], ['GET', '/api/v1/me/export']] as const) {
        const res = await t.app.inject({ method, url, headers: unsafe(session), ...(method === 'POST' ? { payload: { name: 'k', scopes: ['files:read'] } } : {}) })
        assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`)
        assert.equal(res.json().code, 'password_change_required', url)
        assert.match(res.json().detail, /change it first \(POST \/api\/v1\/me\/password/)
      }
      // Refresh works (public), and so does signing out.
      const other = await t.login(email)
      const out = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: unsafe(other) })
      assert.equal(out.statusCode, 204)

      const change = await t.app.inject({ method: 'POST', url: '/api/v1/me/password', headers: unsafe(session), payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } })
      assert.equal(change.statusCode, 200, change.body)
      assert.equal((await me({ cookie: session.cookie })).json().user.mustChangePassword, false)
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/files', headers: { cookie: session.cookie } })).statusCode, 200)
      const key = await t.apiKey(session, ['files:read'])
      const row = await t.testDb.db.kysely.selectFrom('users').select(['must_change_password', 'password_expires_at']).where('email', '=', email).executeTakeFirstOrThrow()
      assert.deepEqual(row, { must_change_password: false, password_expires_at: null })

      // An admin's reset makes it one-time again, and the account's keys wait for the change too.
      const user = await t.app.container.users.findByEmail(email)
      assert.equal((await asAdmin('PATCH', `/api/v1/admin/users/${user!.id}`, { password: PASSWORD })).statusCode, 200)
      const byKey = await t.app.inject({ method: 'GET', url: '/api/v1/files', headers: { 'x-api-key': key } })
      assert.equal(byKey.statusCode, 403)
      assert.equal(byKey.json().code, 'password_change_required')
      assert.equal((await me({ 'x-api-key': key })).json().user.mustChangePassword, true)
      const again = await t.login(email)
      assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/me/password', headers: unsafe(again), payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } })).statusCode, 200)
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/files', headers: { 'x-api-key': key } })).statusCode, 200)

      // An admin setting their own password chose it: not one-time.
      assert.equal((await asAdmin('PATCH', `/api/v1/admin/users/${admin.user.id}`, { password: PASSWORD })).statusCode, 200)
      admin = { user: admin.user, session: await t.login(admin.user.email) }
      assert.equal((await me({ cookie: admin.session.cookie })).json().user.mustChangePassword, false)
    })

    it(`a one-time password stops signing in after ONE_TIME_PASSWORD_HOURS, like a wrong one`, async () => {
      const email = uniqueEmail('expiring')
      const before = Date.now()
      assert.equal((await asAdmin('POST', '/api/v1/admin/users', { email, password: PASSWORD, role: 'member' })).statusCode, 201)
      const db = t.testDb.db.kysely
      const row = await db.selectFrom('users').select(['id', 'password_expires_at']).where('email', '=', email).executeTakeFirstOrThrow()
      const life = row.password_expires_at!.getTime() - before
      assert.ok(Math.abs(life - t.config.auth.oneTimePasswordHours * 3_600_000) < 60_000, `expires in ${life} ms`)
      assert.equal(t.config.auth.oneTimePasswordHours, 72)

      // The clock moves past the expiry.
      await db.updateTable('users').set({ password_expires_at: new Date(Date.now() - 1000) }).where('id', '=', row.id).execute()
      const expired = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: PASSWORD } })
      const wrong = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: 'not the password at all' } })
      assert.equal(expired.statusCode, 401)
      const answer = (res: LightMyRequestResponse) => ({ ...res.json<Record<string, unknown>>(), requestId: undefined })
      assert.deepEqual(answer(expired), answer(wrong), 'no oracle: the same answer as a wrong password')
      const audited = (await audit(`action=auth.login.expired_password&actor=${row.id}`)).items
      assert.equal(audited.length, 1)
      assert.equal(audited[0]!.detail.email, email)

      // reset-password starts a new life.
      assert.equal((await asAdmin('PATCH', `/api/v1/admin/users/${row.id}`, { password: PASSWORD })).statusCode, 200)
      await t.login(email)
    })

    it('the first start creates the admin even when INTERNAL_API_KEYS made the service account first', async () => {
      const app = await startApp(backend.name, { INTERNAL_API_KEYS: randomBytes(32).toString('base64url') })
      try {
        const db = app.testDb.db.kysely
        assert.deepEqual(await db.selectFrom('users').select('is_service').execute(), [{ is_service: true }])
        const boot = await bootstrapAdmin(app.config, app.app.container.users)
        assert.ok(boot.admin && boot.generatedPassword)
        assert.equal(boot.admin.role, 'admin')
        assert.equal(boot.admin.must_change_password, true, 'a generated password is one-time')
        assert.deepEqual(await bootstrapAdmin(app.config, app.app.container.users), {}, 'and only once')
      } finally {
        await app.close()
      }
    })

    it('exports everything about you, without secrets', async () => {
      const { user, session } = await signIn('member')
      const key = await t.apiKey(session, ['files:read'])
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/me/export', headers: { cookie: session.cookie } })
      assert.equal(res.statusCode, 200)
      assert.match(String(res.headers['content-disposition']), /^attachment/)
      assert.equal(res.headers['cache-control'], 'no-store')
      const data = res.json()
      assert.equal(data.user.id, user.id)
      assert.equal(data.user.email, user.email)
      assert.equal(data.sessions.length, 1)
      assert.equal(data.apiKeys.length, 1)
      assert.equal(data.apiKeys[0].id, key.split('_')[1])
      const actions = data.auditLog.map((a: { action: string }) => a.action)
      for (const action of ['auth.login.success', 'key.created']) assert.ok(actions.includes(action), action)
      const stored = await t.testDb.db.kysely.selectFrom('api_keys').select('secret_hash').where('user_id', '=', user.id).executeTakeFirstOrThrow()
      for (const secret of [key, keySecret(key), stored.secret_hash, '$argon2', 'password']) assert.ok(!res.body.includes(secret), secret)
      // Through a key it is refused: an export is for the person at the keyboard.
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/me/export', headers: { 'x-api-key': key } })).statusCode, 403)
    })

    it("exports the files' source URLs, the sign-in failures on your email and what others did to your account", async () => {
      const { user, session } = await signIn('member')
      const db = t.testDb.db.kysely
      const fileId = randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5')
      await db.insertInto('files').values({
        id: fileId, owner_id: user.id, name: 'talk.mp3', format: 'mp3', content_type: 'audio/mpeg', size: 1, sha256: '0'.repeat(64),
        duration_sec: 1, sample_rate: 44100, channels: 1, codec: 'mp3', source: 'import', source_url: 'https://example.test/talk.mp3', expires_at: new Date(Date.now() + 3_600_000)
      }).execute()
      const wrong = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: 'not the password at all' }, remoteAddress: '192.0.2.7' })
      assert.equal(wrong.statusCode, 401)
      assert.equal((await asAdmin('PATCH', `/api/v1/admin/users/${user.id}`, { tier: 'premium' })).statusCode, 200)

      const res = await t.app.inject({ method: 'GET', url: '/api/v1/me/export', headers: { cookie: session.cookie } })
      assert.equal(res.statusCode, 200)
      const data = res.json()
      assert.deepEqual(data.files.map((f: { id: string, sourceUrl: string }) => [f.id, f.sourceUrl]), [[fileId, 'https://example.test/talk.mp3']])
      assert.deepEqual(data.loginFailures.map((f: { ip: string, failures: number }) => [f.ip, f.failures]), [['192.0.2.7', 1]])
      const failure = data.auditLog.find((a: { action: string }) => a.action === 'auth.login.failure')
      assert.equal(failure?.ip, '192.0.2.7')
      const edit = data.auditLog.find((a: { action: string }) => a.action === 'admin.user.updated')
      assert.equal(edit?.detail.userId, user.id)
      assert.equal(edit?.ip, null, "the admin's address is the admin's, not part of this export")

      // Erasure unlinks exactly what the export found.
      const about = (await db.selectFrom('audit_log').select('id').where((eb) => eb.or([
        eb('actor_user_id', '=', user.id), eb(sql`lower(detail->>'email')`, '=', user.email.toLowerCase()), eb(sql`detail->>'userId'`, '=', user.id)
      ])).execute()).map((r) => r.id)
      assert.equal(about.length, data.auditLog.length + 1, 'what the export showed, and the record of the export')
      assert.equal((await asAdmin('DELETE', `/api/v1/admin/users/${user.id}/data`)).statusCode, 204)
      const after = await db.selectFrom('audit_log').selectAll().where('id', 'in', about).execute()
      assert.equal(after.length, about.length, 'the trail is kept')
      for (const row of after) {
        assert.notEqual(row.actor_user_id, user.id)
        assert.notEqual(row.detail.userId, user.id)
        assert.ok(!JSON.stringify(row.detail).toLowerCase().includes(user.email.toLowerCase()), row.action)
      }
      assert.equal(after.find((r) => r.action === 'admin.user.updated')?.actor_user_id, admin.user.id)
      assert.deepEqual(await db.selectFrom('login_failures').select('ip').where('email', '=', user.email.toLowerCase()).execute(), [])
    })

    it('erases your account and data, keeping an unlinked audit trail', async () => {
      const { user, session } = await signIn('member')
      const other = await t.login(user.email)
      const key = await t.apiKey(session, ['files:read'])
      const db = t.testDb.db.kysely
      const trail = (await db.selectFrom('audit_log').select('id').where('actor_user_id', '=', user.id).execute()).map((r) => r.id)
      assert.ok(trail.length >= 3)

      const noCsrf = await t.app.inject({ method: 'DELETE', url: '/api/v1/me/data', headers: { cookie: session.cookie } })
      assert.equal(noCsrf.statusCode, 403)
      const byKey = await t.app.inject({ method: 'DELETE', url: '/api/v1/me/data', headers: { 'x-api-key': key } })
      assert.equal(byKey.statusCode, 403)
      assert.ok(await db.selectFrom('users').select('id').where('id', '=', user.id).executeTakeFirst(), 'refused attempts erase nothing')

      const res = await t.app.inject({ method: 'DELETE', url: '/api/v1/me/data', headers: unsafe(session), payload: { password: PASSWORD } })
      assert.equal(res.statusCode, 204)
      assert.equal(await db.selectFrom('users').select('id').where('id', '=', user.id).executeTakeFirst(), undefined)
      assert.deepEqual(await db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute(), [])
      assert.deepEqual(await db.selectFrom('api_keys').select('id').where('user_id', '=', user.id).execute(), [])
      assert.deepEqual(await db.selectFrom('audit_log').select('id').where('actor_user_id', '=', user.id).execute(), [])
      const kept = await db.selectFrom('audit_log').selectAll().where('id', 'in', trail).execute()
      assert.equal(kept.length, trail.length, 'the audit rows remain')
      assert.ok(kept.every((r) => r.actor_user_id === null))
      const erased = await db.selectFrom('audit_log').selectAll().where('action', '=', 'user.erased').orderBy('id', 'desc').executeTakeFirstOrThrow()
      assert.equal(erased.actor_user_id, null)

      assert.equal((await me({ cookie: session.cookie })).statusCode, 401)
      assert.equal((await me({ cookie: other.cookie })).statusCode, 401)
      assert.equal((await me({ 'x-api-key': key })).statusCode, 401)
      const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD } })
      assert.equal(login.statusCode, 401)
      // The email is free again.
      assert.equal((await asAdmin('POST', '/api/v1/admin/users', { email: user.email, password: PASSWORD, role: 'member' })).statusCode, 201)
    })

    it("lets an admin export and erase another user's data", async () => {
      const { user, session } = await signIn('member')
      const key = await t.apiKey(session, ['files:read'])
      const exported = await asAdmin('GET', `/api/v1/admin/users/${user.id}/export`)
      assert.equal(exported.statusCode, 200)
      const data = exported.json()
      assert.equal(data.user.id, user.id)
      assert.equal(data.sessions.length, 1)
      assert.equal(data.apiKeys.length, 1)
      assert.ok(data.auditLog.some((a: { action: string }) => a.action === 'key.created'))
      assert.ok(!exported.body.includes(keySecret(key)))
      assert.ok(!exported.body.includes('$argon2'))

      const res = await asAdmin('DELETE', `/api/v1/admin/users/${user.id}/data`)
      assert.equal(res.statusCode, 204)
      const db = t.testDb.db.kysely
      assert.equal(await db.selectFrom('users').select('id').where('id', '=', user.id).executeTakeFirst(), undefined)
      assert.deepEqual(await db.selectFrom('api_keys').select('id').where('user_id', '=', user.id).execute(), [])
      assert.deepEqual(await db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute(), [])
      assert.equal((await me({ cookie: session.cookie })).statusCode, 401)
      assert.equal((await me({ 'x-api-key': key })).statusCode, 401)
      assert.equal((await asAdmin('GET', `/api/v1/admin/users/${user.id}`)).statusCode, 404)
      assert.equal((await asAdmin('DELETE', `/api/v1/admin/users/${user.id}/data`)).statusCode, 404)
      // The admin's own trail stays attributed to the admin. The export, written while the
      // person existed, no longer names them; the erasure names only an id that is gone.
      const rows = await db.selectFrom('audit_log').selectAll().where('action', 'in', ['admin.user.exported', 'admin.user.erased'])
        .where('actor_user_id', '=', admin.user.id).orderBy('id', 'desc').limit(2).execute()
      assert.deepEqual(rows.map((r) => [r.action, r.detail.userId]), [['admin.user.erased', user.id], ['admin.user.exported', undefined]])
    })
  })

  describe(`the last enabled admin (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp
    before(async () => { t = await startApp(backend.name) })
    after(() => t?.close())

    const unsafe = (s: Session) => ({ cookie: s.cookie, 'x-csrf-token': s.csrfToken })
    const adminCount = async () => (await t.testDb.db.kysely.selectFrom('users').select('id')
      .where('role', '=', 'admin').where('disabled', '=', false).execute()).length

    it('cannot be demoted, disabled or erased', async () => {
      const a = await t.createUser('admin')
      const sa = await t.login(a.email)
      for (const payload of [{ role: 'member' }, { role: 'viewer' }, { disabled: true }]) {
        const res = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${a.id}`, headers: unsafe(sa), payload })
        assert.equal(res.statusCode, 409, JSON.stringify(payload))
      }
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/users/${a.id}/data`, headers: unsafe(sa) })).statusCode, 409)
      assert.equal((await t.app.inject({ method: 'DELETE', url: '/api/v1/me/data', headers: unsafe(sa), payload: { password: PASSWORD } })).statusCode, 409)
      // Harmless changes to the last admin still work.
      assert.equal((await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${a.id}`, headers: unsafe(sa), payload: { tier: 'premium' } })).statusCode, 200)

      // With a second admin, one admin may remove the other, and then is the last one.
      const b = await t.createUser('admin')
      const sb = await t.login(b.email)
      assert.equal((await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${a.id}`, headers: unsafe(sb), payload: { disabled: true } })).statusCode, 200)
      assert.equal((await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${a.id}`, headers: unsafe(sb), payload: { disabled: false } })).statusCode, 200)
      const sa2 = await t.login(a.email)
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/users/${b.id}/data`, headers: unsafe(sa2) })).statusCode, 204)
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/users/${a.id}/data`, headers: unsafe(sa2) })).statusCode, 409)
      assert.equal(await adminCount(), 1)
    })

    it('survives two admins removing each other at the same moment', async () => {
      for (let round = 0; round < 3; round++) {
        const b = await t.createUser('admin')
        const c = await t.createUser('admin')
        // Leave b and c as the only enabled admins.
        await t.testDb.db.kysely.updateTable('users').set({ role: 'member' }).where('role', '=', 'admin').where('id', 'not in', [b.id, c.id]).execute()
        const sb = await t.login(b.email)
        const sc = await t.login(c.email)
        const [byB, byC] = await Promise.all([
          t.app.inject({ method: 'DELETE', url: `/api/v1/admin/users/${c.id}/data`, headers: unsafe(sb) }),
          t.app.inject({ method: 'DELETE', url: `/api/v1/admin/users/${b.id}/data`, headers: unsafe(sc) })
        ])
        assert.ok([byB.statusCode, byC.statusCode].includes(204), `${byB.statusCode} ${byC.statusCode}`)
        assert.equal(await adminCount(), 1, `round ${round}: ${byB.statusCode} ${byC.statusCode}`)

        const survivor = (await t.testDb.db.kysely.selectFrom('users').select(['id', 'email']).where('role', '=', 'admin').executeTakeFirstOrThrow())
        const d = await t.createUser('admin')
        const ss = await t.login(survivor.email)
        const sd = await t.login(d.email)
        const [demoteD, demoteS] = await Promise.all([
          t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${d.id}`, headers: unsafe(ss), payload: { disabled: true } }),
          t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${survivor.id}`, headers: unsafe(sd), payload: { role: 'member' } })
        ])
        assert.ok([demoteD.statusCode, demoteS.statusCode].includes(200))
        assert.equal(await adminCount(), 1, `round ${round}: ${demoteD.statusCode} ${demoteS.statusCode}`)
      }
    })
  })
}
