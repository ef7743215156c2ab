import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { openDatabase, quoteIdent, type Backend, type Db } from '../../src/db/database.ts'
import { listMigrations, migrate } from '../../src/db/migrator.ts'

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export interface BackendCase {
  name: Backend
  /** false, or the visible reason this backend's tests are skipped on this machine. */
  skip: false | string
}

async function postgresReachable (): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.query('select 1')
    return undefined
  } catch (error) {
    return (error as Error).message
  } finally {
    await client.end().catch(() => {})
  }
}

let cached: Promise<BackendCase[]> | undefined

/**
 * The database tier runs on both backends. Without a reachable PostgreSQL the PostgreSQL
 * cases are reported as skipped, with the reason, never dropped silently.
 */
export function backends (): Promise<BackendCase[]> {
  cached ??= (async () => {
    const problem = await postgresReachable()
    if (problem) process.stderr.write(`\n# NOTICE: PostgreSQL tier skipped: ${TEST_DATABASE_URL} is not reachable (${problem})\n`)
    return [
      { name: 'pglite', skip: false },
      { name: 'postgres', skip: problem ? `PostgreSQL not reachable at ${TEST_DATABASE_URL}: ${problem}` : false }
    ]
  })()
  return cached
}

// A fresh PGlite costs ~5 s of initdb; restoring a migrated data-dir dump costs ~0.5 s. The dump
// is shared between test processes through a file named after the migrations' content.
async function pgliteTemplate (): Promise<Blob> {
  const digest = createHash('sha256').update(JSON.stringify(listMigrations())).digest('hex').slice(0, 16)
  const file = path.join(os.tmpdir(), `tympan-pglite-template-${digest}.tar`)
  if (!fs.existsSync(file)) {
    const db = await openDatabase({ databaseUrl: '' })
    await migrate(db)
    const dump = await db.pglite!.dumpDataDir('none')
    await db.close()
    const tmp = `${file}.${process.pid}.tmp`
    fs.writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()))
    fs.renameSync(tmp, file)
  }
  return new Blob([fs.readFileSync(file)])
}

export interface TestDb {
  db: Db
  databaseUrl: string
  schema?: string
  close: () => Promise<void>
}

/** pg-boss's schema beside a test schema, so apps sharing one PostgreSQL never share a queue. */
export const queueSchemaFor = (schema: string) => `${schema}_boss`

/** A migrated, empty database of its own: in-memory PGlite, or a fresh schema in PostgreSQL. */
export async function openTestDb (backend: Backend): Promise<TestDb> {
  if (backend === 'pglite') {
    const db = await openDatabase({ databaseUrl: '', pgliteTemplate: await pgliteTemplate() })
    return { db, databaseUrl: '', close: () => db.close() }
  }
  const schema = `t_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`)
  await admin.end()
  const db = await openDatabase({ databaseUrl: TEST_DATABASE_URL, schema })
  await migrate(db)
  return {
    db,
    databaseUrl: TEST_DATABASE_URL,
    schema,
    async close () {
      await db.close()
      const cleanup = new pg.Client({ connectionString: TEST_DATABASE_URL })
      await cleanup.connect()
      await cleanup.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`)
      await cleanup.query(`DROP SCHEMA IF EXISTS ${quoteIdent(queueSchemaFor(schema))} CASCADE`)
      await cleanup.end()
    }
  }
}
