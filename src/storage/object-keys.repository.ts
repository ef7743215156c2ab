import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'

export interface ObjectKeyRow {
  objectId: string
  keyId: string
  wrapped: Buffer
}

// bytea arrives as a Buffer from pg and as a Uint8Array from PGlite.
const bytes = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength)

/** The wrapped per-object keys of encryption at rest (migration 0008_object_keys.sql). */
export function objectKeysRepository (db: Kysely<Database>) {
  return {
    async insert (row: ObjectKeyRow): Promise<void> {
      await db.insertInto('object_keys').values({ object_id: row.objectId, key_id: row.keyId, wrapped: row.wrapped }).execute()
    },

    async find (objectId: string): Promise<ObjectKeyRow | undefined> {
      const row = await db.selectFrom('object_keys').select(['key_id', 'wrapped']).where('object_id', '=', objectId).executeTakeFirst()
      return row ? { objectId, keyId: row.key_id, wrapped: bytes(row.wrapped) } : undefined
    },

    async delete (objectId: string): Promise<void> {
      await db.deleteFrom('object_keys').where('object_id', '=', objectId).execute()
    },

    /** Whether any row exists, and a key id of a row that none of `known` is (for the start-up refusal). */
    async census (known: string[]): Promise<{ any: boolean, unknownKeyId: string | undefined }> {
      const any = await db.selectFrom('object_keys').select('object_id').limit(1).executeTakeFirst()
      if (!any) return { any: false, unknownKeyId: undefined }
      let unknown = db.selectFrom('object_keys').select('key_id').limit(1)
      if (known.length > 0) unknown = unknown.where('key_id', 'not in', known)
      return { any: true, unknownKeyId: (await unknown.executeTakeFirst())?.key_id }
    },

    /** Rows not under `keyId`, after `afterId` in object id order, `limit` at a time. */
    async notUnder (keyId: string, afterId: string | undefined, limit: number): Promise<ObjectKeyRow[]> {
      let query = db.selectFrom('object_keys').select(['object_id', 'key_id', 'wrapped']).where('key_id', '<>', keyId)
      if (afterId) query = query.where('object_id', '>', afterId)
      const rows = await query.orderBy('object_id').limit(limit).execute()
      return rows.map((row) => ({ objectId: row.object_id, keyId: row.key_id, wrapped: bytes(row.wrapped) }))
    },

    /** Re-wraps a row still under `fromKeyId`; false when another rotation got there first. */
    async rewrap (objectId: string, fromKeyId: string, row: Pick<ObjectKeyRow, 'keyId' | 'wrapped'>): Promise<boolean> {
      const result = await db.updateTable('object_keys')
        .set({ key_id: row.keyId, wrapped: row.wrapped, rewrapped_at: sql`now()` })
        .where('object_id', '=', objectId).where('key_id', '=', fromKeyId)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },

    /**
     * Objects that rows of `files` and `job_artifacts` name but that have no key: written
     * before encryption was on, so stored as plaintext. In id order after `afterId`.
     */
    async plaintext (afterId: string | undefined, limit: number): Promise<string[]> {
      const named = db.selectFrom('files').select('id as object_id').unionAll(db.selectFrom('job_artifacts').select('object_id'))
      let query = db.selectFrom(named.as('named')).select('named.object_id').distinct()
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('object_keys').select('object_keys.object_id').whereRef('object_keys.object_id', '=', 'named.object_id'))))
      if (afterId) query = query.where('named.object_id', '>', afterId)
      return (await query.orderBy('named.object_id').limit(limit).execute()).map((row) => row.object_id)
    },

    async countPlaintext (): Promise<number> {
      const named = db.selectFrom('files').select('id as object_id').union(db.selectFrom('job_artifacts').select('object_id'))
      const row = await db.selectFrom(named.as('named')).select((eb) => eb.fn.countAll<number>().as('count'))
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('object_keys').select('object_keys.object_id').whereRef('object_keys.object_id', '=', 'named.object_id'))))
        .executeTakeFirstOrThrow()
      return Number(row.count)
    }
  }
}

export type ObjectKeysRepository = ReturnType<typeof objectKeysRepository>
