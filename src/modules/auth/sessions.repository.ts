import type { Kysely } from 'kysely'
import type { Database, OwnerColumns, Session } from '../../db/schema.ts'

export interface SessionState extends OwnerColumns {
  revoked_at: Date | null
  expires_at: Date
  last_active_at: Date
  jti_revoked: boolean
}

export interface RefreshLookup {
  token_hash: string
  rotated_at: Date | null
  session_id: string
  user_id: string
  revoked_at: Date | null
  expires_at: Date
  last_active_at: Date
  disabled: boolean
}

/** `changed` runs after every write that can end a credential (see revocation-bus.ts). */
export function sessionsRepository (db: Kysely<Database>, changed: () => Promise<void> = async () => {}) {
  return {
    async create (session: { userId: string, userAgent: string, ip: string, expiresAt: Date, refreshHash: string }): Promise<Session> {
      return db.transaction().execute(async (trx) => {
        const row = await trx.insertInto('sessions')
          .values({ user_id: session.userId, user_agent: session.userAgent, ip: session.ip, expires_at: session.expiresAt })
          .returningAll().executeTakeFirstOrThrow()
        await trx.insertInto('refresh_tokens').values({ token_hash: session.refreshHash, session_id: row.id }).execute()
        return row
      })
    },
    /** Everything the per-request check of an access token needs, in one round trip. */
    async stateForAccess (sessionId: string, jti: string): Promise<SessionState | undefined> {
      const row = await db.selectFrom('sessions').innerJoin('users', 'users.id', 'sessions.user_id')
        .select(['sessions.revoked_at', 'sessions.expires_at', 'sessions.last_active_at', 'sessions.user_id', 'users.email', 'users.role', 'users.tier', 'users.disabled',
          'users.must_change_password', 'users.created_at as user_created_at', 'users.updated_at as user_updated_at'])
        .select((eb) => eb.exists(eb.selectFrom('revoked_access_tokens').select('jti').where('jti', '=', jti)).as('jti_revoked'))
        .where('sessions.id', '=', sessionId)
        .executeTakeFirst()
      return row && { ...row, jti_revoked: Boolean(row.jti_revoked) }
    },
    findRefresh (tokenHash: string): Promise<RefreshLookup | undefined> {
      return db.selectFrom('refresh_tokens')
        .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select(['refresh_tokens.token_hash', 'refresh_tokens.rotated_at', 'refresh_tokens.session_id', 'sessions.user_id',
          'sessions.revoked_at', 'sessions.expires_at', 'sessions.last_active_at', 'users.disabled'])
        .where('refresh_tokens.token_hash', '=', tokenHash)
        .executeTakeFirst()
    },
    /** Atomically retires `oldHash` and records `newHash`. False when another request rotated it first. */
    async rotate (sessionId: string, oldHash: string, newHash: string, now: Date): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const retired = await trx.updateTable('refresh_tokens').set({ rotated_at: now })
          .where('token_hash', '=', oldHash).where('rotated_at', 'is', null).executeTakeFirst()
        if (Number(retired.numUpdatedRows) !== 1) return false
        await trx.insertInto('refresh_tokens').values({ token_hash: newHash, session_id: sessionId, created_at: now }).execute()
        await trx.updateTable('sessions').set({ last_active_at: now }).where('id', '=', sessionId).execute()
        return true
      })
    },
    async revoke (sessionId: string, reason: string): Promise<void> {
      await db.updateTable('sessions').set({ revoked_at: new Date(), revoke_reason: reason })
        .where('id', '=', sessionId).where('revoked_at', 'is', null).execute()
      await changed()
    },
    async revokeAllForUser (userId: string, reason: string, exceptSessionId?: string): Promise<number> {
      let query = db.updateTable('sessions').set({ revoked_at: new Date(), revoke_reason: reason })
        .where('user_id', '=', userId).where('revoked_at', 'is', null)
      if (exceptSessionId) query = query.where('id', '!=', exceptSessionId)
      const result = await query.executeTakeFirst()
      await changed()
      return Number(result.numUpdatedRows)
    },
    listActive (userId: string, now: Date, idleSince: Date): Promise<Session[]> {
      return db.selectFrom('sessions').selectAll().where('user_id', '=', userId)
        .where('revoked_at', 'is', null).where('expires_at', '>', now).where('last_active_at', '>', idleSince)
        .orderBy('last_active_at', 'desc').execute()
    },
    findForUser (sessionId: string, userId: string): Promise<Session | undefined> {
      return db.selectFrom('sessions').selectAll().where('id', '=', sessionId).where('user_id', '=', userId).executeTakeFirst()
    },
    listAllForUser (userId: string): Promise<Session[]> {
      return db.selectFrom('sessions').selectAll().where('user_id', '=', userId).orderBy('created_at').execute()
    },
    async revokeAccessToken (jti: string, expiresAt: Date): Promise<void> {
      await db.insertInto('revoked_access_tokens').values({ jti, expires_at: expiresAt })
        .onConflict((oc) => oc.column('jti').doNothing()).execute()
      await changed()
    },
    async touch (sessionId: string, now: Date): Promise<void> {
      await db.updateTable('sessions').set({ last_active_at: now }).where('id', '=', sessionId).execute()
    },
    /** Housekeeping: revoked-token rows past their expiry, and sessions long dead. */
    async purgeExpired (now: Date): Promise<void> {
      await db.deleteFrom('revoked_access_tokens').where('expires_at', '<', now).execute()
      await db.deleteFrom('sessions').where('expires_at', '<', now).execute()
    }
  }
}

export type SessionsRepository = ReturnType<typeof sessionsRepository>
