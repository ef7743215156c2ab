import fs from 'node:fs'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { PGliteDialect } from './pglite-dialect.ts'
import { acquirePgliteLock } from './pglite-lock.ts'
import type { Database } from './schema.ts'
import { isConnectionError, markUnavailable } from './unavailable.ts'

export type Backend = 'pglite' | 'postgres'

/** Runs raw SQL inside one transaction: `exec` takes multi-statement scripts, `query` one parameterised statement. */
export interface ScriptRunner {
  exec: (script: string) => Promise<void>
  query: <R>(text: string, params?: unknown[]) => Promise<R[]>
}

export interface Db {
  backend: Backend
  kysely: Kysely<Database>
  transactionScript: (fn: (runner: ScriptRunner) => Promise<void>) => Promise<void>
  ping: () => Promise<void>
  close: () => Promise<void>
  /** The raw handles, for libraries that bring their own SQL (the job queue). */
  pglite?: PGlite
  pool?: pg.Pool
  /** PostgreSQL only: for connections the pool must not hold (LISTEN). */
  connectionString?: string
}

export interface DbOptions {
  /** postgres:// URL; empty means the embedded PGlite. */
  databaseUrl: string
  /** PGlite data directory; undefined keeps the database in memory. */
  pgliteDir?: string
  /** A PGlite data-dir dump to start from (tests use a migrated template). */
  pgliteTemplate?: Blob
  /** PostgreSQL schema to work in (tests isolate themselves this way). */
  schema?: string
}

// int8 (COUNT, identities) as a JS number on both backends, so rows look the same whichever
// database produced them. Tympan's counters never approach 2^53.
const INT8_OID = 20
const parseInt8 = (value: string): number => Number(value)

// Waiting for a connection from the pool (or for a new one) past this is an outage.
const CONNECT_TIMEOUT_MS = 5000
// No request of Tympan's runs a query this long; a socket that stays silent this long is dead.
const QUERY_TIMEOUT_MS = 30_000

export async function openDatabase (options: DbOptions): Promise<Db> {
  return options.databaseUrl ? openPostgres(options) : openPglite(options)
}

async function openPglite (options: DbOptions): Promise<Db> {
  let release = () => {}
  if (options.pgliteDir) {
    fs.mkdirSync(path.dirname(options.pgliteDir), { recursive: true, mode: 0o700 })
    release = acquirePgliteLock(options.pgliteDir)
  }
  let pglite: PGlite
  try {
    pglite = await PGlite.create(options.pgliteDir, {
      parsers: { [INT8_OID]: parseInt8 },
      ...(options.pgliteTemplate ? { loadDataDir: options.pgliteTemplate } : {})
    })
  } catch (error) {
    release()
    throw error
  }
  const kysely = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
  return {
    backend: 'pglite',
    kysely,
    pglite,
    async transactionScript (fn) {
      await pglite.transaction(async (tx) => {
        await fn({
          exec: async (script) => { await tx.exec(script) },
          query: async <R>(text: string, params?: unknown[]) => (await tx.query<R>(text, params)).rows
        })
      })
    },
    async ping () { await sql`select 1`.execute(kysely) },
    async close () {
      // Kysely only destroys a driver it has used: a Db closed before its first query would
      // otherwise leave PGlite open (and keep the process alive).
      try {
        await kysely.destroy()
        if (!pglite.closed) await pglite.close()
      } finally { release() }
    }
  }
}

async function openPostgres (options: DbOptions): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: 10,
    // An unreachable server is answered 503 within these bounds, never a hanging request.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    ...(options.schema ? { options: `-c search_path=${quoteIdent(options.schema)}` } : {}),
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser
    }
  })
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {})
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: marking(pool) }) })
  return {
    backend: 'postgres',
    kysely,
    pool,
    connectionString: options.databaseUrl,
    async transactionScript (fn) {
      const client = await pool.connect().catch((error: unknown) => { throw markUnavailable(error) })
      let broken = false
      const onError = () => { broken = true }
      client.on('error', onError)
      try {
        await client.query('BEGIN')
        await fn({
          exec: async (script) => { await client.query(script) },
          query: async <R>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as R[]
        })
        await client.query('COMMIT')
      } catch (error) {
        if (!broken) await client.query('ROLLBACK').catch(() => {})
        throw markUnavailable(error)
      } finally {
        client.removeListener('error', onError)
        client.release(broken)
      }
    },
    async ping () { await sql`select 1`.execute(kysely) },
    async close () {
      // Kysely ends only a pool it has queried through; one used only by transactionScript
      // (migrate) or by the queue would keep the process alive for its idle timeout.
      await kysely.destroy()
      if (!pool.ended) await pool.end()
    }
  }
}

/**
 * The pool as Kysely sees it: every connection error marked as the database being
 * unavailable, so that a request that needs it is answered 503, not 500.
 */
function marking (pool: pg.Pool) {
  const rethrow = (error: unknown): never => { throw markUnavailable(error) }
  return {
    async connect () {
      const client = await pool.connect().catch(rethrow)
      let broken = false
      // The pool takes its own 'error' listener off a client it hands out: a connection that
      // the server ends meanwhile would emit 'error' unheard, and crash the process.
      const onError = () => { broken = true }
      client.on('error', onError)
      return {
        query: (...args: unknown[]) => {
          const result = (client.query as (...a: unknown[]) => unknown)(...args)
          return result instanceof Promise
            ? result.catch((error: unknown) => { broken ||= isConnectionError(error); return rethrow(error) })
            : result
        },
        // A connection that failed goes, rather than back to the pool.
        release: () => {
          client.removeListener('error', onError)
          client.release(broken)
        }
      }
    },
    end: () => pool.end()
  } as unknown as pg.Pool
}

export function quoteIdent (name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`Unsafe SQL identifier: ${JSON.stringify(name)}`)
  return `"${name}"`
}
