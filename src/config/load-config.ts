import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { ConfigError, configProblems, deepFreeze, parseEnv, type Config, type Secrets } from './config.ts'
import { withStorageKeyFiles } from './storage-encryption.ts'

/**
 * Reads the environment once (and the storage key files it names). In development, secrets that are not set are generated on the
 * first start and kept in `$TYMPAN_DATA_DIR/secrets.json` (mode 0600) so that sessions
 * survive restarts without any configuration. Production never generates: it refuses.
 */
export function loadConfig (source: Record<string, string | undefined> = process.env): Config {
  const withKeys = withStorageKeyFiles(source)
  if ('problem' in withKeys) throw new ConfigError(`Invalid configuration: ${withKeys.problem}`)
  let config = parseEnv(withKeys.source)
  if (!config.isProduction) config = withDevelopmentSecrets(config)
  const problems = configProblems(config)
  if (problems.length > 0) {
    throw new ConfigError(`Refusing to start (${config.env} mode):\n  - ${problems.join('\n  - ')}`)
  }
  return config
}

function withDevelopmentSecrets (config: Config): Config {
  const missing = (Object.keys(config.secrets) as (keyof Secrets)[]).filter((k) => !config.secrets[k])
  if (missing.length === 0) return config
  const file = path.join(config.dataDir, 'secrets.json')
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  let stored: Partial<Secrets> = {}
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Secrets>
  let changed = false
  for (const key of missing) {
    if (!stored[key]) {
      stored[key] = randomBytes(48).toString('base64url')
      changed = true
    }
  }
  if (changed) {
    const tmp = `${file}.${process.pid}.tmp`
    fs.writeFileSync(tmp, JSON.stringify(stored, null, 2), { mode: 0o600 })
    fs.renameSync(tmp, file)
  }
  fs.chmodSync(file, 0o600)
  const secrets = { ...config.secrets }
  for (const key of missing) secrets[key] = stored[key] as string
  return deepFreeze({ ...structuredClone(config), secrets })
}
