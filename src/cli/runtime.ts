import path from 'node:path'
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'
import type { Config } from '../config/config.ts'
import { loadConfig } from '../config/load-config.ts'
import { openDatabase, type Db } from '../db/database.ts'
import { migrate } from '../db/migrator.ts'

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
export async function openRuntime (): Promise<{ config: Config, db: Db, applied: string[] }> {
  const config = loadConfig()
  const db = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'db') })
  try {
    const applied = await migrate(db)
    return { config, db, applied }
  } catch (error) {
    await db.close()
    throw error
  }
}

/** Reads a secret from standard input (for --password-stdin), without echo concerns: it is piped. */
export async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}
