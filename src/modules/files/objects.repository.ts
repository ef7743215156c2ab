import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'

/**
 * The rows that name storage objects: a file is its own object (files.id), a job artifact
 * names one (job_artifacts.object_id). A new table holding object ids must be added here, or
 * the orphan collector deletes its objects (docs/storage.md, "Orphaned objects").
 */
export function objectReferencesRepository (db: Kysely<Database>) {
  return {
    /** Which of `ids` some row names: one query for the whole page (both columns are indexed). */
    async referenced (ids: string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set()
      const { rows } = await sql<{ id: string }>`
        SELECT id FROM files WHERE id = ANY(${ids}::uuid[])
        UNION ALL
        SELECT object_id AS id FROM job_artifacts WHERE object_id = ANY(${ids}::uuid[])`.execute(db)
      return new Set(rows.map((row) => row.id))
    }
  }
}

export type ObjectReferencesRepository = ReturnType<typeof objectReferencesRepository>
