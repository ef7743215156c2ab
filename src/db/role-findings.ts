import type { CheckItem } from '../config/production-checklist.ts'
import type { RoleFacts } from './runtime-role.ts'
import { objectName, quoteRole, RUNTIME_TABLE_PRIVILEGES } from './runtime-privileges.ts'

const FIX_OWNER = 'give DATABASE_URL a role of its own and set DATABASE_MIGRATION_URL to the owner (docs/security.md "Database roles")'

/** Privileges held beyond the map: DELETE where the code never deletes, TRUNCATE, TRIGGER, or any right on a table the code never uses. */
export function excessPrivileges (facts: Pick<RoleFacts, 'held'>): Array<{ table: string, privileges: string[] }> {
  return facts.held.flatMap(({ table, privileges }) => {
    const allowed = new Set<string>(RUNTIME_TABLE_PRIVILEGES[table] ?? [])
    const extra = privileges.filter((p) => !allowed.has(p))
    return extra.length > 0 ? [{ table, privileges: extra }] : []
  })
}

/** "SELECT/DELETE on "public"."files", USAGE on "pgboss"": one entry per object. */
function grouped (missing: RoleFacts['missing']): string {
  const byObject = new Map<string, string[]>()
  for (const m of missing) byObject.set(objectName(m), [...byObject.get(objectName(m)) ?? [], m.privilege])
  return [...byObject].map(([object, privileges]) => `${privileges.join('/')} on ${object}`).join(', ')
}

/**
 * Pure: `tympan doctor --production`'s findings about DATABASE_URL's role. A missing privilege
 * fails (start-up refuses it); rights beyond what the code uses (DDL, superuser, extra table
 * privileges) warn: they work, but a compromised server could use them.
 */
export function roleChecks (facts: RoleFacts): CheckItem[] {
  const who = quoteRole(facts.role)
  const items: CheckItem[] = []
  const needs = 'Runtime database role has the privileges Tympan needs'
  if (facts.held.length === 0) items.push({ item: needs, status: 'fail', detail: `no tables in ${who}'s schema: run \`tympan migrate\`` })
  else if (facts.missing.length === 0) items.push({ item: needs, status: 'pass', detail: `${who}: ${facts.held.map((h) => `${h.table} ${h.privileges.join('/') || '-'}`).join(', ')}` })
  else items.push({ item: needs, status: 'fail', detail: `${who} lacks ${grouped(facts.missing)}: run \`tympan migrate\` with DATABASE_MIGRATION_URL (it grants them)` })
  const powers = [facts.superuser && 'SUPERUSER', facts.createRole && 'CREATEROLE', facts.createDb && 'CREATEDB'].filter(Boolean)
  items.push(powers.length === 0
    ? { item: 'Runtime database role is not a superuser', status: 'pass', detail: 'no SUPERUSER, CREATEROLE or CREATEDB' }
    : { item: 'Runtime database role is not a superuser', status: 'warn', detail: `${who} has ${powers.join(', ')}: ${FIX_OWNER}` })
  const ddl = [
    ...facts.ownedSchemas.map((s) => `owns schema ${s}`),
    ...facts.creatableSchemas.filter((s) => !facts.ownedSchemas.includes(s)).map((s) => `may CREATE in schema ${s}`),
    ...(facts.ownedTables > 0 ? [`owns ${facts.ownedTables} table(s)`] : [])
  ]
  items.push(ddl.length === 0
    ? { item: 'Runtime database role cannot change the schema (no DDL)', status: 'pass', detail: 'owns no schema or table, no CREATE' }
    : { item: 'Runtime database role cannot change the schema (no DDL)', status: 'warn', detail: `${who} ${ddl.join(', ')}: ${FIX_OWNER}` })
  const excess = excessPrivileges(facts)
  items.push(facts.ownedTables > 0
    ? { item: 'Runtime database role holds nothing beyond what the code uses', status: 'warn', detail: `${who} owns tables, and so holds every privilege on them: ${FIX_OWNER}` }
    : excess.length === 0
    ? { item: 'Runtime database role holds nothing beyond what the code uses', status: 'pass', detail: 'table privileges equal the map (src/db/runtime-privileges.ts)' }
    : { item: 'Runtime database role holds nothing beyond what the code uses', status: 'warn', detail: `${excess.map((e) => `${e.privileges.join('/')} on ${e.table}`).join(', ')}: \`tympan migrate\` with DATABASE_MIGRATION_URL revokes what the owner granted; REVOKE the rest` })
  return items
}
