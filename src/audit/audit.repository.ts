import { sql, type Kysely } from 'kysely'
import type { AuditEntry, Database } from '../db/schema.ts'

export interface AuditRecord {
  requestId?: string | null
  actorUserId?: string | null
  actorKeyId?: string | null
  ip?: string | null
  method?: string | null
  route?: string | null
  action: string
  status?: number | null
  detail?: Record<string, unknown>
}

export interface AuditQuery {
  actorUserId?: string
  action?: string
  from?: Date
  to?: Date
  before?: number
  limit: number
}

export function auditRepository (db: Kysely<Database>) {
  return {
    async insert (record: AuditRecord): Promise<void> {
      await db.insertInto('audit_log').values({
        request_id: record.requestId ?? null,
        actor_user_id: record.actorUserId ?? null,
        actor_key_id: record.actorKeyId ?? null,
        ip: record.ip ?? null,
        method: record.method ?? null,
        route: record.route ?? null,
        action: record.action,
        status: record.status ?? null,
        detail: JSON.stringify(record.detail ?? {})
      }).execute()
    },
    /** Newest first; `before` is the id cursor of the last row of the previous page. */
    list (query: AuditQuery): Promise<AuditEntry[]> {
      let q = db.selectFrom('audit_log').selectAll()
      if (query.actorUserId) q = q.where('actor_user_id', '=', query.actorUserId)
      if (query.action) {
        q = query.action.endsWith('.*')
          ? q.where('action', 'like', `${query.action.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`)
          : q.where('action', '=', query.action)
      }
      if (query.from) q = q.where('at', '>=', query.from)
      if (query.to) q = q.where('at', '<', query.to)
      if (query.before !== undefined) q = q.where('id', '<', query.before)
      return q.orderBy('id', 'desc').limit(query.limit).execute()
    },
    /**
     * Every row about a person (GDPR export): what they did, sign-ins tried on their email, and
     * what others did to them or their data (detail.userId / detail.ownerId). The same
     * predicates as `pseudonymiseActor`, so erasure unlinks exactly what export shows.
     */
    listAboutUser (userId: string, email: string): Promise<AuditEntry[]> {
      return db.selectFrom('audit_log').selectAll()
        .where((eb) => eb.or([
          eb('actor_user_id', '=', userId),
          eb(sql`lower(detail->>'email')`, '=', email.toLowerCase()),
          eb(sql`detail->>'userId'`, '=', userId),
          eb(sql`detail->>'ownerId'`, '=', userId)
        ]))
        .orderBy('id').execute()
    },
    /**
     * AUDIT_RETENTION_DAYS: deletes up to `limit` of the oldest rows written before `cutoff`, so
     * that a first sweep over years of rows holds no long lock; the caller repeats.
     */
    async deleteOlderThan (cutoff: Date, limit: number): Promise<number> {
      const oldest = db.selectFrom('audit_log').select('id').where('at', '<', cutoff).orderBy('at').orderBy('id').limit(limit)
      const result = await db.deleteFrom('audit_log').where('id', 'in', oldest).executeTakeFirst()
      return Number(result.numDeletedRows)
    },
    /** GDPR erasure keeps the security trail but unlinks it from the person. */
    async pseudonymiseActor (userId: string, email: string): Promise<void> {
      await db.updateTable('audit_log').set({ actor_user_id: null, ip: null }).where('actor_user_id', '=', userId).execute()
      // Failed sign-ins name the email they tried, with no actor: unlink those too.
      await db.updateTable('audit_log').set({ detail: sql`detail - 'email'`, ip: null })
        .where(sql`lower(detail->>'email')`, '=', email.toLowerCase()).execute()
      // Others' actions on the person (an admin's edit, a sweep of their file) keep their own
      // actor and address; only the reference to the person goes.
      for (const field of ['userId', 'ownerId']) {
        await db.updateTable('audit_log').set({ detail: sql`detail - ${field}::text` })
          .where(sql`detail->>${field}::text`, '=', userId).execute()
      }
    }
  }
}

export type AuditRepository = ReturnType<typeof auditRepository>
