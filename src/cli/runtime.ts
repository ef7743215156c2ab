import path from 'node:path'
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'
import type { Config } from '../config/config.ts'
import { loadConfig } from '../config/load-config.ts'
import { openDatabase, type Db } from '../db/database.ts'
import { migrate } from '../db/migrator.ts'
import { assertRuntimePrivileges, connectedRole, grantRuntimePrivileges } from '../db/runtime-role.ts'
import { installQueue, queueSettings } from '../modules/jobs/jobs.queue.ts'

export class CliError extends Error {
  override name = 'CliError'
}

/**
 * A command's argv with positionals, or a CliError that says what is wrong and shows `help`.
 * parseArgs explains itself in its first sentence; the rest is advice about `--` (`hint` can
 * say it in the command's own words).
 */
export function parseCommandLine<O extends ParseArgsOptionsConfig> (argv: string[], options: O, help: string, hint = '') {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options })
  } catch (error) {
    throw new CliError(`${(error as Error).message.split('. ')[0]!.replace(/\.$/, '')}${hint}\n\n${help}`)
  }
}

/** Config + database + migrations: what every role starts with. */
export async function openRuntime (config = loadConfig()): Promise<{ config: Config, db: Db, applied: string[] }> {
  const db = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'db') })
  try {
    const applied = config.migration.databaseUrl ? await migrateAsOwner(config, (await connectedRole(db)).role) : await migrate(db)
    // Before anything serves: a role short of a privilege would fail requests one by one.
    if (db.backend === 'postgres') await assertRuntimePrivileges(db, config.jobs.queueSchema)
    return { config, db, applied }
  } catch (error) {
    await db.close()
    throw error
  }
}

/**
 * DATABASE_MIGRATION_URL: Tympan's migrations and pg-boss's schema run as the owner role,
 * which then grants the runtime role (DATABASE_URL's user) the privilege map and no more.
 */
async function migrateAsOwner (config: Config, runtimeRole: string): Promise<string[]> {
  const owner = await openDatabase({ databaseUrl: config.migration.databaseUrl })
  try {
    const applied = await migrate(owner)
    await installQueue(config.migration.databaseUrl, queueSettings(config))
    await grantRuntimePrivileges(owner, runtimeRole, config.jobs.queueSchema)
    return applied
  } finally {
    await owner.close()
  }
}

/** Reads a secret from standard input (for --password-stdin), without echo concerns: it is piped. */
export async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}
