import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { authorize, effectiveScopes, PASSWORD_CHANGE_REQUIRED, PUBLIC, ROLE_SCOPES, SCOPES, scopesBeyondRole, type Principal } from './permissions.ts'

const at = new Date('2025-01-01T00:00:00Z')
const principal = (overrides: Partial<Principal> = {}, mustChangePassword = false): Principal => {
  const role = overrides.role ?? 'member'
  return {
    kind: 'session',
    userId: 'u1',
    user: { id: 'u1', email: 'u1@example.test', role, tier: 'free', disabled: false, must_change_password: mustChangePassword, created_at: at, updated_at: at },
    role,
    tier: 'free',
    scopes: ROLE_SCOPES[role],
    viaCookie: true,
    ...overrides
  }
}

describe('authorize', () => {
  it('denies a route that declares nothing, even to an admin', () => {
    const decision = authorize(principal({ role: 'admin', scopes: ROLE_SCOPES.admin }), undefined)
    assert.equal(decision.allowed, false)
    assert.equal(!decision.allowed && decision.status, 403)
    assert.equal(authorize(undefined, undefined).allowed, false)
  })

  it('lets anyone through a public route', () => {
    assert.deepEqual(authorize(undefined, PUBLIC), { allowed: true })
  })

  it('answers 401 when nobody is signed in', () => {
    const decision = authorize(undefined, { permission: 'self' })
    assert.equal(decision.allowed, false)
    assert.equal(!decision.allowed && decision.status, 401)
  })

  it('keeps session-only routes away from API keys and internal keys', () => {
    for (const kind of ['api_key', 'internal'] as const) {
      const decision = authorize(principal({ kind, viaCookie: false }), { permission: 'self', sessionOnly: true })
      assert.equal(decision.allowed, false)
      assert.equal(!decision.allowed && decision.status, 403)
    }
    assert.equal(authorize(principal(), { permission: 'self', sessionOnly: true }).allowed, true)
    assert.equal(authorize(principal({ kind: 'dev' }), { permission: 'self', sessionOnly: true }).allowed, true)
  })

  it('answers 403 naming the missing scope', () => {
    const decision = authorize(principal({ role: 'viewer', scopes: ROLE_SCOPES.viewer }), { permission: 'files:write' })
    assert.equal(decision.allowed, false)
    assert.equal(!decision.allowed && decision.status, 403)
    assert.match(!decision.allowed ? decision.reason : '', /files:write/)
    assert.equal(authorize(principal(), { permission: 'admin' }).allowed, false)
  })

  it('allows a principal holding the scope, and anyone signed in for "self"', () => {
    assert.equal(authorize(principal(), { permission: 'files:write' }).allowed, true)
    assert.equal(authorize(principal({ kind: 'api_key', scopes: ['jobs:read'], viaCookie: false }), { permission: 'jobs:read' }).allowed, true)
    assert.equal(authorize(principal({ kind: 'api_key', scopes: [], viaCookie: false }), { permission: 'self' }).allowed, true)
  })

  it('lets an account with a one-time password only through the routes that opt in, with a stable code', () => {
    for (const kind of ['session', 'api_key'] as const) {
      const pending = principal({ kind, role: 'admin', scopes: ROLE_SCOPES.admin, viaCookie: false }, true)
      for (const auth of [{ permission: 'admin' }, { permission: 'self' }, { permission: 'files:read', sessionOnly: true }] as const) {
        const decision = authorize(pending, auth)
        assert.equal(decision.allowed, false)
        assert.equal(!decision.allowed && decision.status, 403)
        assert.equal(!decision.allowed && decision.code, PASSWORD_CHANGE_REQUIRED)
        assert.match(!decision.allowed ? decision.reason : '', /POST \/api\/v1\/me\/password/)
      }
      assert.equal(authorize(pending, { permission: 'self', allowPendingPasswordChange: true }).allowed, true)
    }
    // Opting in lifts only this gate, not the others.
    const pendingKey = principal({ kind: 'api_key', viaCookie: false }, true)
    assert.equal(authorize(pendingKey, { permission: 'self', sessionOnly: true, allowPendingPasswordChange: true }).allowed, false)
    assert.equal(authorize(undefined, { permission: 'self', allowPendingPasswordChange: true }).allowed, false)
  })
})

describe('role scopes', () => {
  it('gives admin everything, member all but admin, viewer read-only', () => {
    assert.deepEqual([...ROLE_SCOPES.admin], [...SCOPES])
    assert.ok(!ROLE_SCOPES.member.includes('admin'))
    assert.deepEqual([...ROLE_SCOPES.viewer].sort(), ['files:read', 'jobs:read'])
  })

  it('shrinks a key to what its owner\'s current role allows', () => {
    const keyScopes = ['files:read', 'files:write', 'admin', 'translate']
    assert.deepEqual(effectiveScopes('admin', keyScopes).sort(), [...keyScopes].sort())
    assert.deepEqual(effectiveScopes('member', keyScopes).sort(), ['files:read', 'files:write', 'translate'])
    assert.deepEqual(effectiveScopes('viewer', keyScopes), ['files:read'])
    assert.deepEqual(effectiveScopes('member', ['unknown:scope']), [])
  })

  it('lists the scopes a role may not grant', () => {
    assert.deepEqual(scopesBeyondRole('viewer', ['files:read', 'files:write', 'admin']), ['files:write', 'admin'])
    assert.deepEqual(scopesBeyondRole('admin', [...SCOPES]), [])
  })
})
