import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Principal } from '../../access/permissions.ts'
import type { Session } from '../../db/schema.ts'
import { HttpProblem } from '../../http/problem.ts'
import { sessionsService, type SessionsServiceDeps } from './sessions.service.ts'

const principal: Principal = { kind: 'session', userId: 'u1', user: {} as Principal['user'], role: 'member', tier: 'free', scopes: [], sessionId: 's1', viaCookie: true }

const session = (id: string, userId = 'u1'): Session => ({
  id, user_id: userId, user_agent: 'curl/8', ip: '192.0.2.1',
  created_at: new Date('2026-01-01T00:00:00Z'), last_active_at: new Date('2026-01-02T00:00:00Z'), expires_at: new Date('2026-02-01T00:00:00Z'),
  revoked_at: null, revoke_reason: null
})

function fake (rows: Session[]) {
  const calls: { listed: [string, Date, Date][], revoked: [string, string][] } = { listed: [], revoked: [] }
  const sessions: SessionsServiceDeps['sessions'] = {
    listActive: async (userId, now, idleSince) => { calls.listed.push([userId, now, idleSince]); return rows.filter((s) => s.user_id === userId) },
    findForUser: async (id, userId) => rows.find((s) => s.id === id && s.user_id === userId),
    revoke: async (id, reason) => { calls.revoked.push([id, reason]) }
  }
  return { calls, service: sessionsService({ sessions, refreshIdleDays: 7 }) }
}

describe('sessionsService', () => {
  it('lists the active sessions in the API shape, marking the current one', async () => {
    const { calls, service } = fake([session('s1'), session('s2'), session('s3', 'u2')])
    const now = new Date('2026-01-10T00:00:00Z')
    const items = await service.listActive(principal, now)
    assert.deepEqual(items.map((s) => [s.id, s.current]), [['s1', true], ['s2', false]])
    assert.deepEqual(items[0], { id: 's1', userAgent: 'curl/8', ip: '192.0.2.1', createdAt: '2026-01-01T00:00:00.000Z', lastActiveAt: '2026-01-02T00:00:00.000Z', expiresAt: '2026-02-01T00:00:00.000Z', current: true })
    assert.deepEqual(calls.listed, [['u1', now, new Date('2026-01-03T00:00:00Z')]], 'idle past REFRESH_TOKEN_IDLE_DAYS is not active')
  })

  it('revokes one of the principal\'s sessions with the user\'s reason', async () => {
    const { calls, service } = fake([session('s2')])
    assert.equal((await service.revoke(principal, 's2')).id, 's2')
    assert.deepEqual(calls.revoked, [['s2', 'revoked_by_user']])
  })

  it('answers 404 for another user\'s session and revokes nothing', async () => {
    const { calls, service } = fake([session('s9', 'u2')])
    await assert.rejects(service.revoke(principal, 's9'), (error: unknown) => error instanceof HttpProblem && error.status === 404)
    assert.deepEqual(calls.revoked, [])
  })
})
