import { sql, type Kysely } from 'kysely'
import type { AudioFile, Database, NewAudioFile } from '../../db/schema.ts'

export function filesRepository (db: Kysely<Database>) {
  async function usedBytes (ownerId: string, trx: Kysely<Database> = db): Promise<number> {
    const row = await trx.selectFrom('files').select(sql<number>`coalesce(sum(size), 0)::bigint`.as('used'))
      .where('owner_id', '=', ownerId).executeTakeFirstOrThrow()
    return Number(row.used)
  }

  return {
    usedBytes,
    /**
     * Inserts the record unless it would take the owner past `quotaBytes` (0: unlimited).
     * Locking the owner's row serialises concurrent uploads of one user, so two uploads that
     * each fit cannot together exceed the quota.
     */
    async insertWithinQuota (file: NewAudioFile, quotaBytes: number): Promise<{ file: AudioFile } | { usedBytes: number }> {
      return db.transaction().execute(async (trx) => {
        await trx.selectFrom('users').select('id').where('id', '=', file.owner_id).forUpdate().executeTakeFirst()
        if (quotaBytes > 0) {
          const used = await usedBytes(file.owner_id, trx)
          if (used + Number(file.size) > quotaBytes) return { usedBytes: used }
        }
        return { file: await trx.insertInto('files').values(file).returningAll().executeTakeFirstOrThrow() }
      })
    },
    /** Any record, expired or not: for the worker of a job that holds the file, and clean-ups. */
    findById (id: string): Promise<AudioFile | undefined> {
      return db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst()
    },
    /** The record unless it has expired: what a client may still read, download or start a job on. */
    findLive (id: string, now = new Date()): Promise<AudioFile | undefined> {
      return db.selectFrom('files').selectAll().where('id', '=', id).where('expires_at', '>', now).executeTakeFirst()
    },
    list (ownerId: string, limit: number, after?: { createdAt: Date, id: string }, now = new Date()): Promise<AudioFile[]> {
      let query = db.selectFrom('files').selectAll().where('owner_id', '=', ownerId).where('expires_at', '>', now)
      if (after) {
        query = query.where((eb) => eb.or([
          eb('created_at', '<', after.createdAt),
          eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])
        ]))
      }
      return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
    },
    listAllForOwner (ownerId: string): Promise<AudioFile[]> {
      return db.selectFrom('files').selectAll().where('owner_id', '=', ownerId).orderBy('created_at').execute()
    },
    async delete (id: string): Promise<boolean> {
      const result = await db.deleteFrom('files').where('id', '=', id).executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },
    /** Expired files that no queued or running job still needs: those wait for their jobs. */
    expired (now: Date, limit: number): Promise<AudioFile[]> {
      return db.selectFrom('files').selectAll().where('expires_at', '<=', now)
        .where(({ not, exists, selectFrom }) => not(exists(
          selectFrom('jobs').select('jobs.id').whereRef('jobs.file_id', '=', 'files.id').where('jobs.status', 'in', ['queued', 'running'])
        )))
        .orderBy('expires_at').limit(limit).execute()
    },
    /**
     * Deletes the record only if it is still expired and still no queued or running job uses
     * it, returning it; undefined when a job was created on it since `expired()` listed it.
     * The row lock waits for a job creation that holds the file (jobs.repository
     * insertWithinLimit); the delete that follows is a new statement, so it sees that job.
     */
    async deleteExpired (id: string, now: Date): Promise<AudioFile | undefined> {
      return db.transaction().execute(async (trx) => {
        const locked = await trx.selectFrom('files').select('id').where('id', '=', id).forUpdate().executeTakeFirst()
        if (!locked) return undefined
        return trx.deleteFrom('files').where('id', '=', id).where('expires_at', '<=', now)
          .where(({ not, exists, selectFrom }) => not(exists(
            selectFrom('jobs').select('jobs.id').whereRef('jobs.file_id', '=', 'files.id').where('jobs.status', 'in', ['queued', 'running'])
          )))
          .returningAll().executeTakeFirst()
      })
    }
  }
}

export type FilesRepository = ReturnType<typeof filesRepository>
