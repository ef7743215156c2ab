import fs from 'node:fs'
import path from 'node:path'
import { loadConfig } from '../config/load-config.ts'
import { parseEnv } from '../config/config.ts'
import { productionChecklist } from '../config/production-checklist.ts'
import { openDatabase } from '../db/database.ts'
import { DatabaseInUseError } from '../db/pglite-lock.ts'
import { VERSION } from '../version.ts'

// The engines later capabilities run, and the Debian package that provides each.
const ENGINES: { binary: string, pkg: string, for: string }[] = [
  { binary: 'ffmpeg', pkg: 'ffmpeg', for: 'decoding and encoding audio' },
  { binary: 'ffprobe', pkg: 'ffmpeg', for: 'validating uploads' },
  { binary: 'pocketsphinx', pkg: 'pocketsphinx', for: 'transcription' },
  { binary: 'apertium', pkg: 'apertium', for: 'translation' },
  { binary: 'espeak-ng', pkg: 'espeak-ng', for: 'speech synthesis' },
  { binary: 'fluidsynth', pkg: 'fluidsynth', for: 'music generation' }
]

export function findOnPath (binary: string, searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, binary)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return candidate
    } catch { /* not here */ }
  }
  return undefined
}

/** `tympan doctor --production`: the deployment checklist, item by item; exit 1 on any failure. */
export function productionDoctor (): boolean {
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
  console.log('Production checklist')
  for (const item of items) console.log(`${item.status.toUpperCase().padEnd(4)}  ${item.item}: ${item.detail}`)
  const failed = items.filter((i) => i.status === 'fail').length
  console.log(failed ? `${failed} item(s) fail: production start-up would refuse this configuration.` : 'No failures.')
  return failed === 0
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
  for (const engine of ENGINES) {
    const found = findOnPath(engine.binary)
    line(found ? 'ok' : 'warn', found ? `${engine.binary} (${engine.for}): ${found}` : `${engine.binary} missing (${engine.for}): apt-get install ${engine.pkg}`)
  }
  return ok
}
