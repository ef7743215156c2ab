import fs from 'node:fs'
import path from 'node:path'
import type { Db } from './database.ts'

const MIGRATIONS_DIR = path.join(import.meta.dirname, 'migrations')
// Any constant works; it only has to be the same for every Tympan process on one database.
const MIGRATION_LOCK_KEY = 7_304_221

export interface Migration {
  version: string
  script: string
}

export function listMigrations (dir = MIGRATIONS_DIR): Migration[] {
  return fs.readdirSync(dir)
    .filter((name) => /^\d{4}_[a-z0-9_]+\.sql$/.test(name))
    .sort()
    .map((name) => ({ version: name.replace(/\.sql$/, ''), script: fs.readFileSync(path.join(dir, name), 'utf8') }))
}

/**
 * Applies pending migrations, each in its own transaction. The advisory lock makes several
 * processes starting at once against one PostgreSQL apply each migration exactly once.
 * Returns the versions it applied.
 */
export async function migrate (db: Db, migrations = listMigrations()): Promise<string[]> {
  const applied: string[] = []
  await db.transactionScript(async ({ exec }) => {
    await exec('CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())')
  })
  for (const migration of migrations) {
    await db.transactionScript(async ({ exec, query }) => {
      await query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
      const done = await query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version])
      if (done.length > 0) return
      try {
        await exec(migration.script)
      } catch (error) {
        throw new Error(`Migration ${migration.version} failed: ${(error as Error).message}`, { cause: error })
      }
      await query('INSERT INTO schema_migrations (version) VALUES ($1)', [migration.version])
      applied.push(migration.version)
    })
  }
  return applied
}
