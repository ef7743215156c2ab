import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.ts'
import { backends } from './helpers/db.ts'
import { startApp, type TestApp } from './helpers/app.ts'

const postgres = (await backends()).find((b) => b.name === 'postgres')!

// Two server processes on one PostgreSQL each cache credentials; a revocation through one
// must be refused by the other on its next request, not after the cache TTL.
describe('revocation across servers sharing PostgreSQL', { skip: postgres.skip }, () => {
  let t: TestApp
  let second: FastifyInstance
  before(async () => {
    t = await startApp('postgres')
    second = await buildApp({ config: t.config, db: t.testDb.db })
    await second.ready()
  })
  after(async () => {
    await second?.close()
    await t?.close()
  })

  const meOn = (app: FastifyInstance, key: string) => app.inject({ url: '/api/v1/me', headers: { 'x-api-key': key } })
  const settle = async (check: () => Promise<boolean>) => {
    // NOTIFY reaches the other server's listener within milliseconds; allow up to 2 s.
    for (let i = 0; i < 40; i++) {
      if (await check()) return true
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return false
  }

  it('a key revoked on one server is refused by the other', async () => {
    const user = await t.createUser('member')
    const session = await t.login(user.email)
    const key = await t.apiKey(session, ['files:read'])
    assert.equal((await meOn(second, key)).statusCode, 200) // now cached on the second server
    const id = key.split('_')[1]
    const revoked = await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${id}`, headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } })
    assert.equal(revoked.statusCode, 204)
    assert.equal((await meOn(t.app, key)).statusCode, 401, 'the revoking server refuses at once')
    assert.ok(await settle(async () => (await meOn(second, key)).statusCode === 401), 'the other server refuses after the notification')
  })

  it('a user disabled on one server loses their session on the other', async () => {
    const admin = await t.createUser('admin')
    const adminSession = await t.login(admin.email)
    const user = await t.createUser('member')
    const session = await t.login(user.email)
    const me = () => second.inject({ url: '/api/v1/me', headers: { cookie: session.cookie } })
    assert.equal((await me()).statusCode, 200)
    const disabled = await t.app.inject({
      method: 'PATCH', url: `/api/v1/admin/users/${user.id}`, headers: { cookie: adminSession.cookie, 'x-csrf-token': adminSession.csrfToken }, payload: { disabled: true }
    })
    assert.equal(disabled.statusCode, 200)
    assert.ok(await settle(async () => (await me()).statusCode === 401))
  })
})
