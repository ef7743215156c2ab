import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { mayAccessOwned } from './ownership.ts'
import { ROLE_SCOPES, type Principal } from './permissions.ts'
import type { Role } from '../db/schema.ts'

const principal = (role: Role, userId = 'me'): Principal => ({
  kind: 'session', userId, role, tier: 'free', scopes: ROLE_SCOPES[role], viaCookie: false, user: {} as Principal['user']
})

describe('mayAccessOwned', () => {
  it('lets owners of every role read and change their own', () => {
    for (const role of ['admin', 'member', 'viewer'] as const) {
      assert.equal(mayAccessOwned(principal(role), 'me', 'read'), true)
      assert.equal(mayAccessOwned(principal(role), 'me', 'change'), true)
    }
  })

  it("lets admins read another user's files and jobs, but not change them", () => {
    assert.equal(mayAccessOwned(principal('admin'), 'someone-else', 'read'), true)
    assert.equal(mayAccessOwned(principal('admin'), 'someone-else', 'change'), false)
  })

  it("gives members and viewers nothing of another user's", () => {
    for (const role of ['member', 'viewer'] as const) {
      assert.equal(mayAccessOwned(principal(role), 'someone-else', 'read'), false)
      assert.equal(mayAccessOwned(principal(role), 'someone-else', 'change'), false)
    }
  })

  it('judges by the scopes the credential carries, not the role: an admin key without the admin scope reads only its own', () => {
    const key = { ...principal('admin'), kind: 'api_key' as const, scopes: ROLE_SCOPES.member }
    assert.equal(mayAccessOwned(key, 'someone-else', 'read'), false)
  })
})
