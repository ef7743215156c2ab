import { quoteIdent } from './database.ts'

export type TablePrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE'

const S: TablePrivilege = 'SELECT'
const I: TablePrivilege = 'INSERT'
const U: TablePrivilege = 'UPDATE'
const D: TablePrivilege = 'DELETE'

/**
 * What the runtime role (DATABASE_URL's user, when DATABASE_MIGRATION_URL owns the schema) may
 * do to each of Tympan's tables: exactly what the repositories' queries do, read from them
 * (insertInto, updateTable, deleteFrom, and the row locks). Rows that go by ON DELETE CASCADE
 * need no DELETE here: PostgreSQL runs the foreign keys' actions as the table's owner. A new
 * table, or a query that writes where none did, is one line here; a test refuses a migrated
 * table this map does not name.
 */
export const RUNTIME_TABLE_PRIVILEGES: Readonly<Record<string, readonly TablePrivilege[]>> = {
  // Erasure deletes users; FOR UPDATE (a user's job and upload limits, the last admin) needs UPDATE.
  users: [S, I, U, D],
  sessions: [S, I, U, D],
  refresh_tokens: [S, I, U],
  revoked_access_tokens: [S, I, D],
  // Keys are revoked (updated), never deleted: they go with their user.
  api_keys: [S, I, U],
  login_failures: [S, I, U, D],
  // Erasure rewrites the trail's personal fields; only the AUDIT_RETENTION_DAYS sweep deletes.
  audit_log: [S, I, U, D],
  // No query updates a file row, but FOR UPDATE and FOR SHARE (deletes, job creation) need UPDATE.
  files: [S, I, U, D],
  jobs: [S, I, U, D],
  job_artifacts: [S, I],
  // Encryption at rest: a key row per object; rotation re-wraps (UPDATE), a delete removes it.
  object_keys: [S, I, U, D],
  job_events: [S, I],
  resumable_uploads: [S, I, U, D],
  translation_logs: [S, I, U, D],
  // The runtime only reads which migrations ran, to refuse a schema it cannot bring up to date.
  schema_migrations: [S]
}

/** Sequences behind serial columns: nextval needs USAGE (identity columns need nothing). */
export const RUNTIME_SEQUENCES: readonly string[] = ['job_events_id_seq']

export interface RequiredPrivilege {
  kind: 'schema' | 'table' | 'sequence'
  schema: string
  /** The table's or sequence's name; absent for a schema. */
  name?: string
  privilege: TablePrivilege | 'USAGE'
}

/** The object as SQL names it: "schema" or "schema"."table". */
export const objectName = (r: RequiredPrivilege): string =>
  r.name === undefined ? quoteIdent(r.schema) : `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`

export interface Schemas {
  /** Where Tympan's migrations put its tables (the owner's current_schema()). */
  app: string
  /** pg-boss's schema (JOB_QUEUE_SCHEMA). */
  queue: string
}

/**
 * Every privilege the runtime role needs: USAGE on both schemas, the map on Tympan's tables,
 * and all four on each of pg-boss's tables (its queue is all inserts, updates and deletes).
 */
export function requiredPrivileges (schemas: Schemas, queueTables: readonly string[] | undefined): RequiredPrivilege[] {
  const { app, queue } = schemas
  return [
    { kind: 'schema', schema: app, privilege: 'USAGE' },
    // Not installed yet: pg-boss's own start installs it (as a role that may), or says why not.
    ...(queueTables ? [{ kind: 'schema' as const, schema: queue, privilege: 'USAGE' as const }] : []),
    ...Object.entries(RUNTIME_TABLE_PRIVILEGES).flatMap(([name, privileges]) =>
      privileges.map((privilege) => ({ kind: 'table' as const, schema: app, name, privilege }))),
    ...RUNTIME_SEQUENCES.map((name) => ({ kind: 'sequence' as const, schema: app, name, privilege: 'USAGE' as const })),
    ...(queueTables ?? []).flatMap((name) => [S, I, U, D].map((privilege) => ({ kind: 'table' as const, schema: queue, name, privilege })))
  ]
}

/** The GRANT that gives one missing privilege: what the start-up refusal tells the operator to run. */
export function grantFor (required: RequiredPrivilege, role: string): string {
  const on = required.kind === 'table' ? '' : `${required.kind.toUpperCase()} `
  return `GRANT ${required.privilege} ON ${on}${objectName(required)} TO ${quoteRole(role)};`
}

/**
 * What the owner step runs after the migrations: the runtime role gets the map and nothing
 * else. Revoking first takes back what an older map (or a hand-made grant) gave and the code
 * no longer needs, so the grants always equal the map.
 */
export function grantStatements (schemas: Schemas, role: string): string[] {
  const who = quoteRole(role)
  const app = quoteIdent(schemas.app)
  const queue = quoteIdent(schemas.queue)
  return [
    `GRANT USAGE ON SCHEMA ${app} TO ${who}`,
    `REVOKE ALL ON ALL TABLES IN SCHEMA ${app} FROM ${who}`,
    `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${app} FROM ${who}`,
    ...Object.entries(RUNTIME_TABLE_PRIVILEGES).map(([table, privileges]) => `GRANT ${privileges.join(', ')} ON ${app}.${quoteIdent(table)} TO ${who}`),
    ...RUNTIME_SEQUENCES.map((sequence) => `GRANT USAGE ON SEQUENCE ${app}.${quoteIdent(sequence)} TO ${who}`),
    `GRANT USAGE ON SCHEMA ${queue} TO ${who}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${queue} TO ${who}`
  ]
}

/** The start-up refusal: who lacks what, and the two ways to fix it. */
export function missingPrivilegesMessage (role: string, missing: readonly RequiredPrivilege[]): string {
  const lines = missing.map((m) => `  - ${m.privilege} on ${m.kind} ${objectName(m)}`)
  return [
    `The database role ${quoteRole(role)} (DATABASE_URL) lacks ${missing.length} privilege(s) Tympan needs:`,
    ...lines,
    'Fix: run `tympan migrate` with DATABASE_MIGRATION_URL set to the owner role (it grants exactly these), or run as the owner:',
    ...missing.map((m) => `  ${grantFor(m, role)}`)
  ].join('\n')
}

/** Role names come from the server (current_user), so any name is quoted, never refused. */
export const quoteRole = (role: string): string => `"${role.replaceAll('"', '""')}"`
