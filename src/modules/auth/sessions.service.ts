import type { Principal } from '../../access/permissions.ts'
import type { Session } from '../../db/schema.ts'
import { notFound } from '../../http/problem.ts'
import type { SessionsRepository } from './sessions.repository.ts'

const DAY_MS = 86_400_000

export interface PublicSession {
  id: string
  userAgent: string
  ip: string
  createdAt: string
  lastActiveAt: string
  expiresAt: string
  current: boolean
}

export interface SessionsServiceDeps {
  sessions: Pick<SessionsRepository, 'listActive' | 'findForUser' | 'revoke'>
  /** A session whose refresh token has gone unused this long cannot be refreshed: not listed. */
  refreshIdleDays: number
}

/** A signed-in user's own devices: list them, sign one out. */
export function sessionsService (deps: SessionsServiceDeps) {
  return {
    async listActive (principal: Principal, now = new Date()): Promise<PublicSession[]> {
      const rows = await deps.sessions.listActive(principal.userId, now, new Date(now.getTime() - deps.refreshIdleDays * DAY_MS))
      return rows.map((s) => toPublicSession(s, principal.sessionId))
    },

    /** Revokes one of the principal's sessions; another user's is indistinguishable from a missing one. */
    async revoke (principal: Principal, sessionId: string): Promise<Session> {
      const session = await deps.sessions.findForUser(sessionId, principal.userId)
      if (!session) throw notFound('Session')
      await deps.sessions.revoke(session.id, 'revoked_by_user')
      return session
    }
  }
}

export function toPublicSession (s: Session, currentSessionId: string | undefined): PublicSession {
  return {
    id: s.id,
    userAgent: s.user_agent,
    ip: s.ip,
    createdAt: s.created_at.toISOString(),
    lastActiveAt: s.last_active_at.toISOString(),
    expiresAt: s.expires_at.toISOString(),
    current: s.id === currentSessionId
  }
}

export type SessionsService = ReturnType<typeof sessionsService>
