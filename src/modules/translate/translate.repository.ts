import type { Kysely } from 'kysely'
import type { Database, TranslationLog, TranslationStatus } from '../../db/schema.ts'

export interface NewTranslationLog {
  userId: string
  sourceLang: string
  targetLang: string
  route: string[]
  characters: number
  durationMs: number
  status: TranslationStatus
  text: string | null
}

export function translationLogsRepository (db: Kysely<Database>) {
  return {
    async insert (row: NewTranslationLog): Promise<void> {
      await db.insertInto('translation_logs').values({
        user_id: row.userId,
        source_lang: row.sourceLang,
        target_lang: row.targetLang,
        route: row.route,
        characters: row.characters,
        duration_ms: row.durationMs,
        status: row.status,
        text: row.text
      }).execute()
    },
    listForUser (userId: string): Promise<TranslationLog[]> {
      return db.selectFrom('translation_logs').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute()
    },
    async deleteForUser (userId: string): Promise<number> {
      const result = await db.deleteFrom('translation_logs').where('user_id', '=', userId).executeTakeFirst()
      return Number(result.numDeletedRows)
    },
    /** Clears the kept texts of rows older than `textBefore` and deletes rows older than `rowsBefore`. */
    async expire (textBefore: Date, rowsBefore: Date): Promise<number> {
      await db.updateTable('translation_logs').set({ text: null }).where('text', 'is not', null).where('created_at', '<', textBefore).execute()
      const result = await db.deleteFrom('translation_logs').where('created_at', '<', rowsBefore).executeTakeFirst()
      return Number(result.numDeletedRows)
    }
  }
}

export type TranslationLogsRepository = ReturnType<typeof translationLogsRepository>
