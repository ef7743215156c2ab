import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it, mock } from 'node:test'
import { parseEnv } from '../../config/config.ts'
import { formatKey, hashKeySecret } from '../keys/api-key.ts'
import type { KeyWithOwner } from '../keys/keys.repository.ts'
import { authService, type AuthDeps } from './auth.service.ts'

const ID = '0123456789ab'
const SECRET = 'S'.repeat(43)
const KEY = formatKey(ID, SECRET)
const created = new Date('2026-01-01T00:00:00Z')

function fake () {
  const row: KeyWithOwner = {
    id: ID, user_id: 'u1', name: 'bench', secret_hash: hashKeySecret(SECRET), scopes: ['files:read'], created_at: created,
    expires_at: null, last_used_at: null, revoked_at: null,
    email: 'owner@example.test', role: 'member', tier: 'free', disabled: false, must_change_password: false, user_created_at: created, user_updated_at: created
  }
  const calls = { reads: 0, touches: [] as Date[] }
  const keys = {
    findWithOwner: async (id: string) => { calls.reads++; return id === ID ? row : undefined },
    markUsed: async (_id: string, now: Date) => { calls.touches.push(now) }
  }
  const unused = {} as never
  const service = authService({
    config: parseEnv({}), users: unused, sessions: unused, keys: keys as unknown as AuthDeps['keys'], throttle: unused, audit: unused, tokens: unused, csrf: unused
  })
  return { row, calls, service }
}

describe('authService.principalFromApiKey', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: new Date('2026-03-01T12:00:00Z') }))
  afterEach(() => mock.timers.reset())

  it('answers a key in the cache at once, with the principal made when the key was read', async () => {
    const { calls, service } = fake()
    const first = service.principalFromApiKey(KEY)
    assert.ok(first instanceof Promise, 'the first use reads the key')
    const principal = await first
    assert.equal(principal?.keyId, `tym_${ID}`)
    assert.deepEqual(principal?.scopes, ['files:read'])
    const again = service.principalFromApiKey(KEY)
    assert.equal(again, principal, 'the same principal, without a promise')
    assert.ok(Object.isFrozen(principal) && Object.isFrozen(principal.user) && Object.isFrozen(principal.scopes), 'shared between requests, so frozen')
    assert.equal(calls.reads, 1)
  })

  it('still checks the secret, the expiry and the revocation of a cached key on every use', async () => {
    const { row, service } = fake()
    assert.ok(await service.principalFromApiKey(KEY))
    assert.equal(service.principalFromApiKey(formatKey(ID, 'T'.repeat(43))), undefined)
    row.expires_at = new Date(Date.now() + 1000)
    assert.ok(service.principalFromApiKey(KEY))
    mock.timers.tick(1000)
    assert.equal(service.principalFromApiKey(KEY), undefined, 'expired')
    row.expires_at = null
    row.revoked_at = new Date()
    assert.equal(service.principalFromApiKey(KEY), undefined, 'revoked')
  })

  it('records the use at most once a minute', async () => {
    const { calls, service } = fake()
    await service.principalFromApiKey(KEY)
    mock.timers.tick(59_000)
    assert.ok(!(service.principalFromApiKey(KEY) instanceof Promise))
    mock.timers.tick(2000)
    const touched = service.principalFromApiKey(KEY)
    assert.ok(touched instanceof Promise)
    assert.ok(await touched)
    assert.deepEqual(calls.touches.map((d) => d.toISOString()), ['2026-03-01T12:00:00.000Z', '2026-03-01T12:01:01.000Z'])
  })

  it('refuses a malformed or unknown key', async () => {
    const { service } = fake()
    assert.equal(service.principalFromApiKey('tym_nope'), undefined)
    assert.equal(await service.principalFromApiKey(formatKey('ffffffffffff', SECRET)), undefined)
  })
})
