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
    findById (id: string): Promise<AudioFile | undefined> {
      return db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst()
    },
    list (ownerId: string, limit: number, after?: { createdAt: Date, id: string }): Promise<AudioFile[]> {
      let query = db.selectFrom('files').selectAll().where('owner_id', '=', ownerId)
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
    }
  }
}

export type FilesRepository = ReturnType<typeof filesRepository>
