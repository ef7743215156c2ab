import fs from 'node:fs'
import path from 'node:path'
import type { Db } from './database.ts'
import { RuntimePrivilegeError } from './runtime-role.ts'

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
  // Read before writing: a runtime role without CREATE (docs/security.md "Database roles")
  // starts on an up-to-date schema without running any DDL, even IF NOT EXISTS.
  const pending = (await appliedVersions(db)).pending(migrations)
  if (pending.length === 0) return []
  const applied: string[] = []
  try {
    await db.transactionScript(async ({ exec }) => {
      await exec('CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())')
    })
  } catch (error) {
    throw deniedOr(error, pending)
  }
  for (const migration of migrations) {
    await db.transactionScript(async ({ exec, query }) => {
      await query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
      const done = await query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version])
      if (done.length > 0) return
      try {
        await exec(migration.script)
      } catch (error) {
        throw deniedOr(new Error(`Migration ${migration.version} failed: ${(error as Error).message}`, { cause: error }), pending)
      }
      await query('INSERT INTO schema_migrations (version) VALUES ($1)', [migration.version])
      applied.push(migration.version)
    })
  }
  return applied
}

async function appliedVersions (db: Db): Promise<{ pending: (all: Migration[]) => Migration[] }> {
  let done = new Set<string>()
  await db.transactionScript(async ({ query }) => {
    const [table] = await query<{ found: string | null }>("SELECT to_regclass('schema_migrations')::text AS found")
    if (!table?.found) return
    done = new Set((await query<{ version: string }>('SELECT version FROM schema_migrations')).map((r) => r.version))
  })
  return { pending: (all) => all.filter((m) => !done.has(m.version)) }
}

// 42501: insufficient_privilege. The role is a runtime role, and the fix is the owner's.
function deniedOr (error: unknown, pending: Migration[]): unknown {
  const code = ((error as { cause?: { code?: string } }).cause ?? error as { code?: string }).code
  if (code !== '42501') return error
  return new RuntimePrivilegeError(`Migrations ${pending.map((m) => m.version).join(', ')} are pending, and this database role may not apply them (${(error as Error).message}): run \`tympan migrate\` with DATABASE_MIGRATION_URL set to the owner role`, { cause: error })
}
