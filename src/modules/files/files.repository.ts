import { sql, type Kysely } from 'kysely'
import type { AudioFile, Database, NewAudioFile } from '../../db/schema.ts'
import { keyset, type KeysetPosition } from '../../db/keyset.ts'

/**
 * Bytes an owner holds: stored files plus the declared size of every open resumable upload
 * (a reservation), but `excludingUpload`, the upload being turned into a file.
 */
export async function usedBytes (db: Kysely<Database>, ownerId: string, excludingUpload?: string): Promise<number> {
  const row = await db.selectNoFrom((eb) => [
    eb.selectFrom('files').select(sql<number>`coalesce(sum(size), 0)`.as('s')).where('owner_id', '=', ownerId).as('files'),
    eb.selectFrom('resumable_uploads').select(sql<number>`coalesce(sum(declared_size), 0)`.as('s')).where('owner_id', '=', ownerId)
      .$if(excludingUpload !== undefined, (q) => q.where('id', '!=', excludingUpload as string)).as('reserved')
  ]).executeTakeFirstOrThrow()
  return Number(row.files) + Number(row.reserved)
}

/**
 * Locks the owner's row until the transaction ends: every write that must fit the quota or
 * a per-user cap (a file record, a resumable reservation) takes it first, so two that each
 * fit cannot together exceed it.
 */
export async function lockOwner (trx: Kysely<Database>, ownerId: string): Promise<void> {
  await trx.selectFrom('users').select('id').where('id', '=', ownerId).forUpdate().executeTakeFirst()
}

export function filesRepository (db: Kysely<Database>) {
  return {
    usedBytes: (ownerId: string) => usedBytes(db, ownerId),
    /**
     * Inserts the record unless it would take the owner past `quotaBytes` (0: unlimited),
     * files and open reservations counted, under the owner's row lock. `replacingUpload` is
     * the resumable upload this file completes: its reservation is not counted and is deleted
     * in the same transaction, so its bytes are never counted twice nor for a moment free.
     */
    async insertWithinQuota (file: NewAudioFile, quotaBytes: number, options: { replacingUpload?: string } = {}): Promise<{ file: AudioFile } | { usedBytes: number }> {
      return db.transaction().execute(async (trx) => {
        await lockOwner(trx, file.owner_id)
        if (quotaBytes > 0) {
          const used = await usedBytes(trx, file.owner_id, options.replacingUpload)
          if (used + Number(file.size) > quotaBytes) return { usedBytes: used }
        }
        if (options.replacingUpload) await trx.deleteFrom('resumable_uploads').where('id', '=', options.replacingUpload).execute()
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
    /** `nameContains`: a case-insensitive substring of the name (strpos: no LIKE wildcards to escape). */
    list (ownerId: string, limit: number, after?: KeysetPosition, now = new Date(), nameContains?: string): Promise<AudioFile[]> {
      let query = db.selectFrom('files').selectAll().where('owner_id', '=', ownerId).where('expires_at', '>', now)
      if (nameContains) query = query.where(sql<boolean>`strpos(lower(name), lower(${nameContains})) > 0`)
      return keyset(query, { order: 'desc', after }).limit(limit).execute()
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
