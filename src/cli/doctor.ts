import fs from 'node:fs'
import path from 'node:path'
import { loadConfig } from '../config/load-config.ts'
import { parseEnv } from '../config/config.ts'
import { productionChecklist, type CheckItem } from '../config/production-checklist.ts'
import { openDatabase, type Db } from '../db/database.ts'
import { roleChecks } from '../db/role-findings.ts'
import { roleFacts } from '../db/runtime-role.ts'
import { DatabaseInUseError } from '../db/pglite-lock.ts'
import type { EngineStatus } from '../engines/engine.ts'
import { createEngines } from '../engines/registry.ts'
import { VERSION } from '../version.ts'

/** One doctor line for an engine: what runs, in which version and languages, or what to install. */
export function describeEngine (status: EngineStatus): string {
  if (status.available) {
    const languages = status.languages?.length
      ? `, ${status.languages.length > 8 ? `${status.languages.length} languages` : `languages ${status.languages.join(' ')}`}`
      : ''
    const detail = status.detail ? `; ${status.detail}` : ''
    return `${status.name}: ${status.package} ${status.version ?? '(version unknown)'}${languages}${detail}`
  }
  if (!status.package) return `${status.name} not configured${status.detail ? `: ${status.detail}` : ''}`
  // A detail that names its own package (a missing model) says more than the engine's package.
  const named = /install the Debian package (\S+?)\.?$/.exec(status.detail ?? '')?.[1]
  const rest = status.detail && !named ? `; ${status.detail}` : ''
  return `${status.name} missing: install the Debian package ${named ?? status.package}${rest}`
}

/** `tympan doctor --production`: the deployment checklist, item by item; exit 1 on any failure. */
export async function productionDoctor (): Promise<boolean> {
  let config
  try {
    // The checklist judges the configuration as production would, whatever TYMPAN_ENV says.
    config = parseEnv({ ...process.env, TYMPAN_ENV: process.env.TYMPAN_ENV ?? 'production' })
  } catch (error) {
    console.log(`FAIL  ${(error as Error).message}`)
    return false
  }
  const mode = fs.statSync(config.dataDir, { throwIfNoEntry: false })?.mode
  const items = productionChecklist(config, { uid: process.getuid?.() ?? -1, ...(mode !== undefined ? { dataDirMode: mode } : {}) })
  if (config.databaseUrl) items.push(...await runtimeRoleChecks(config.databaseUrl, config.jobs.queueSchema))
  console.log('Production checklist')
  for (const item of items) console.log(`${item.status.toUpperCase().padEnd(4)}  ${item.item}: ${item.detail}`)
  const failed = items.filter((i) => i.status === 'fail').length
  console.log(failed ? `${failed} item(s) fail: production start-up would refuse this configuration.` : 'No failures.')
  return failed === 0
}

/** DATABASE_URL's role as the server would use it: what it holds, and what it should not. */
async function runtimeRoleChecks (databaseUrl: string, queueSchema: string): Promise<CheckItem[]> {
  let db: Db | undefined
  try {
    db = await openDatabase({ databaseUrl })
    return roleChecks(await roleFacts(db, queueSchema))
  } catch (error) {
    return [{ item: 'Runtime database role', status: 'fail', detail: `could not inspect it: ${(error as Error).message}` }]
  } finally {
    await db?.close()
  }
}

export async function doctor (): Promise<boolean> {
  let ok = true
  const line = (status: 'ok' | 'warn' | 'FAIL', text: string) => {
    if (status === 'FAIL') ok = false
    console.log(`${status.padEnd(4)}  ${text}`)
  }
  console.log(`Tympan ${VERSION} on Node ${process.versions.node}`)
  line(Number(process.versions.node.split('.')[0]) >= 24 ? 'ok' : 'FAIL', `Node ${process.versions.node} (24 or newer required)`)
  let config
  try {
    config = loadConfig()
    line('ok', `configuration valid (${config.env} mode, data in ${config.dataDir})`)
  } catch (error) {
    line('FAIL', (error as Error).message)
    return false
  }
  try {
    const db = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'db') })
    await db.ping()
    await db.close()
    line('ok', `database reachable (${config.databaseUrl ? 'PostgreSQL' : 'embedded PGlite'})`)
  } catch (error) {
    if (error instanceof DatabaseInUseError) line('ok', 'embedded database is open in a running server')
    else line('FAIL', `database: ${(error as Error).message}`)
  }
  // Analysis (ffmpeg, which every job decodes with) and the default transcription engine are
  // required; another engine that is not set up (whisper without a model) is only a warning.
  const engines = createEngines({ whisperBin: config.jobs.whisperBin, whisperModel: config.jobs.whisperModel, soundfont: config.jobs.soundfont }).all()
  const required = new Set(['analyze', config.jobs.transcribeEngine])
  for (const status of await Promise.all(engines.map((engine) => engine.status()))) {
    line(status.available ? 'ok' : required.has(status.name) ? 'FAIL' : 'warn', describeEngine(status))
  }
  return ok
}
