import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'

export interface FailureState {
  failures: number
  lockedUntil: Date | null
}

/**
 * Failed password checks per (email, client). `address` is the client's address key
 * (`addressKey`: IPv4 as is, IPv6 by /64), so rotating through one's own /64 counts as one client.
 */
export function loginThrottleRepository (db: Kysely<Database>) {
  return {
    async get (email: string, address: string): Promise<FailureState | undefined> {
      const row = await db.selectFrom('login_failures').select(['failures', 'locked_until'])
        .where('email', '=', email).where('ip', '=', address).executeTakeFirst()
      return row && { failures: row.failures, lockedUntil: row.locked_until }
    },
    /**
     * Counts one more failure in a single statement (no read-modify-write race between
     * concurrent guesses) and locks the pair once it reaches `max`. A count older than
     * `windowStart` starts again from one.
     */
    async recordFailure (email: string, address: string, now: Date, windowStart: Date, max: number, lockUntil: Date): Promise<FailureState> {
      const row = await db.insertInto('login_failures')
        .values({ email, ip: address, failures: 1, last_failure_at: now, locked_until: max <= 1 ? lockUntil : null })
        .onConflict((oc) => oc.columns(['email', 'ip']).doUpdateSet({
          failures: sql`CASE WHEN login_failures.last_failure_at < ${windowStart} THEN 1 ELSE login_failures.failures + 1 END`,
          last_failure_at: now,
          locked_until: sql`CASE WHEN (CASE WHEN login_failures.last_failure_at < ${windowStart} THEN 1 ELSE login_failures.failures + 1 END) >= ${max} THEN ${lockUntil}::timestamptz ELSE NULL END`
        }))
        .returning(['failures', 'locked_until'])
        .executeTakeFirstOrThrow()
      return { failures: row.failures, lockedUntil: row.locked_until }
    },
    /** Failures for one email since `windowStart`, from every client together: the sign of distributed guessing. */
    async accountFailures (email: string, windowStart: Date): Promise<{ failures: number, clients: number }> {
      const row = await db.selectFrom('login_failures')
        .select((eb) => [eb.fn.coalesce(eb.fn.sum<string>('failures'), sql<string>`0`).as('failures'), eb.fn.countAll<string>().as('clients')])
        .where('email', '=', email).where('last_failure_at', '>=', windowStart).executeTakeFirstOrThrow()
      return { failures: Number(row.failures), clients: Number(row.clients) }
    },
    async clear (email: string, address: string): Promise<void> {
      await db.deleteFrom('login_failures').where('email', '=', email).where('ip', '=', address).execute()
    },
    /** Housekeeping: counts that can no longer lock anything (guessed emails would pile up). */
    async purgeStale (olderThan: Date, now: Date): Promise<void> {
      await db.deleteFrom('login_failures').where('last_failure_at', '<', olderThan)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)])).execute()
    },
    /** GDPR export: the counts kept against this email, from every address. */
    listForEmail (email: string) {
      return db.selectFrom('login_failures').select(['ip', 'failures', 'last_failure_at', 'locked_until']).where('email', '=', email).orderBy('last_failure_at').execute()
    },
    async clearEmail (email: string): Promise<void> {
      await db.deleteFrom('login_failures').where('email', '=', email).execute()
    }
  }
}

export type LoginThrottleRepository = ReturnType<typeof loginThrottleRepository>
