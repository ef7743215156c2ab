import type { ExpressionBuilder, Kysely } from 'kysely'
import type { Database, NewResumableUpload, ResumableUpload } from '../../db/schema.ts'
import { lockOwner, usedBytes } from './files.repository.ts'

export type Reservation = { reserved: true } | { reserved: false, openUploads: number } | { reserved: false, usedBytes: number }

/** The server-side record of open tus uploads: what the quota and the open-upload cap count. */
export function resumableRepository (db: Kysely<Database>) {
  return {
    /**
     * Records an open upload unless the owner already holds `maxOpen`, or its declared size
     * would take the owner past `quotaBytes` (0: unlimited; files and reservations counted).
     * Under the owner's row lock, like a file insert, so racing creations are serialised.
     */
    reserve (upload: NewResumableUpload, limits: { quotaBytes: number, maxOpen: number }): Promise<Reservation> {
      return db.transaction().execute(async (trx) => {
        await lockOwner(trx, upload.owner_id)
        const { open } = await trx.selectFrom('resumable_uploads').select((eb) => eb.fn.countAll<string>().as('open'))
          .where('owner_id', '=', upload.owner_id).executeTakeFirstOrThrow()
        if (Number(open) >= limits.maxOpen) return { reserved: false, openUploads: Number(open) }
        if (limits.quotaBytes > 0) {
          const used = await usedBytes(trx, upload.owner_id)
          if (used + Number(upload.declared_size) > limits.quotaBytes) return { reserved: false, usedBytes: used }
        }
        await trx.insertInto('resumable_uploads').values(upload).execute()
        return { reserved: true }
      })
    },
    /** Marks activity; false when the upload is no longer open (finished, terminated, swept). */
    async touch (id: string, at: Date): Promise<boolean> {
      const result = await db.updateTable('resumable_uploads').set({ last_activity_at: at }).where('id', '=', id).executeTakeFirst()
      return Number(result.numUpdatedRows) > 0
    },
    async delete (id: string): Promise<boolean> {
      const result = await db.deleteFrom('resumable_uploads').where('id', '=', id).executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },
    listForOwner (ownerId: string): Promise<ResumableUpload[]> {
      return db.selectFrom('resumable_uploads').selectAll().where('owner_id', '=', ownerId).orderBy('created_at').execute()
    },
    /**
     * Deletes up to `limit` rows idle since `idleBefore` or created before `createdBefore`,
     * and returns their ids. The condition is re-checked by the DELETE itself, so an upload
     * touched by a PATCH a moment ago is never taken.
     */
    async deleteStale (cutoffs: { idleBefore: Date, createdBefore: Date }, limit: number): Promise<string[]> {
      const stale = (eb: ExpressionBuilder<Database, 'resumable_uploads'>) =>
        eb.or([eb('last_activity_at', '<=', cutoffs.idleBefore), eb('created_at', '<=', cutoffs.createdBefore)])
      const rows = await db.deleteFrom('resumable_uploads')
        .where('id', 'in', db.selectFrom('resumable_uploads').select('id').where(stale).limit(limit))
        .where(stale)
        .returning('id').execute()
      return rows.map((r) => r.id)
    }
  }
}

export type ResumableRepository = ReturnType<typeof resumableRepository>
