import type { Config } from './config.ts'
import { configProblems, PLAIN_HTTP_PROBLEM, servesHttps } from './config.ts'
import { postgresTlsCheck, redisChecks } from './connection-security.ts'
import { MIN_SECRET_BITS, MIN_SECRET_BYTES, secretWeakness } from './secret-strength.ts'

export interface CheckItem {
  item: string
  status: 'pass' | 'fail' | 'warn'
  detail: string
}

/** Facts about the running machine that the checklist needs; gathered by the caller. */
export interface HostFacts {
  uid: number
  dataDirMode?: number
}

/**
 * Pure: the deployment checklists of the security policies Tympan implements (upload app,
 * transcription service, translator, music generator, stem separator), item by item, for
 * this configuration. `fail` items are the ones production start-up refuses.
 */
export function productionChecklist (config: Config, host: HostFacts): CheckItem[] {
  const items: CheckItem[] = []
  const add = (item: string, ok: boolean | 'warn', detail: string) =>
    items.push({ item, status: ok === 'warn' ? 'warn' : ok ? 'pass' : 'fail', detail })
  const secret = (name: string, value: string) => {
    const weakness = value ? secretWeakness(value) : 'is missing'
    add(`${name} strong (>= ${MIN_SECRET_BYTES} bytes, >= ${MIN_SECRET_BITS} bits estimated)`, weakness === undefined, weakness ?? `${Buffer.byteLength(value)} bytes`)
  }

  add('TYMPAN_ENV=production', config.isProduction, config.env)
  secret('JWT_SECRET_KEY', config.secrets.jwt)
  secret('CSRF_SECRET_KEY', config.secrets.csrf)
  secret('SESSION_SECRET_KEY', config.secrets.session)
  add('Authentication enabled', config.authEnabled, config.authEnabled ? 'API keys and sessions required' : 'AUTH_ENABLED=false')
  add('CORS_ORIGINS lists exact origins', !config.corsOrigins.includes('*'), config.corsOrigins.length ? config.corsOrigins.join(', ') : 'none (no cross-origin browser access)')
  add('TLS_CERT_FILE or FORCE_HTTPS behind TRUSTED_PROXIES (HTTPS for all endpoints)', servesHttps(config),
    config.tls.certFile ? 'native TLS' : servesHttps(config) ? `TLS terminated by ${config.trustedProxies.join(', ')}` : PLAIN_HTTP_PROBLEM)
  if (config.forceHttps) add('PUBLIC_URL set for the FORCE_HTTPS redirect', config.publicUrl ? true : 'warn', config.publicUrl || 'not set: plain-HTTP browser navigation is refused with 403 instead of redirected (the Host header is never trusted for it)')
  add('Trusted proxies configured', config.trustedProxies.length > 0 || Boolean(config.tls.certFile) ? true : 'warn', config.trustedProxies.join(', ') || 'none: X-Forwarded-* ignored (right if clients connect directly)')
  add('Rate limiting enabled', config.rateLimit.enabled, `${config.rateLimit.requests.free}/${config.rateLimit.windowSec}s per key (free tier), burst ${config.rateLimit.burst}`)
  add('Shared rate-limit store for several servers', config.redisUrl ? true : 'warn', config.redisUrl ? 'Redis' : 'in memory (fine for one server)')
  if (config.redisUrl) items.push(...redisChecks(config.redisUrl))
  add('Database', true, config.databaseUrl ? 'PostgreSQL' : 'embedded PGlite (one server)')
  if (config.databaseUrl) items.push(postgresTlsCheck('DATABASE_URL', config.databaseUrl))
  if (config.migration.databaseUrl) items.push(postgresTlsCheck('DATABASE_MIGRATION_URL', config.migration.databaseUrl))
  add('LOG_LEVEL not debug/trace', config.logLevel !== 'debug' && config.logLevel !== 'trace', config.logLevel)
  add('File size limit', config.intake.maxFileBytes > 0, `${config.intake.maxFileBytes / 1024 / 1024} MB`)
  add('File retention', config.intake.retentionHours > 0, `${config.intake.retentionHours} h`)
  add('Uploads cleaned up after processing', config.jobs.deleteAfterProcessing ? true : 'warn', config.jobs.deleteAfterProcessing ? 'DELETE_AFTER_PROCESSING=true' : `kept until retention (${config.intake.retentionHours} h); DELETE_AFTER_PROCESSING=true removes each upload once its jobs are done`)
  add('Job limits per user', true, `${config.jobs.maxUnfinished.free} queued or running, ${config.jobs.maxRunning.free} at once (free tier)`)
  add('URL import cannot reach private networks', !config.intake.importAllowPrivate, config.intake.importAllowPrivate ? 'IMPORT_ALLOW_PRIVATE=true' : 'public addresses only')
  add('IMPORT_ALLOW_HTTP off (URL import over HTTPS only)', !config.intake.importAllowHttp, config.intake.importAllowHttp ? 'IMPORT_ALLOW_HTTP=true' : 'https only')
  if (config.metricsToken) secret('METRICS_TOKEN', config.metricsToken)
  else add('Monitoring endpoint protected', 'warn', 'only admins can read /metrics; set METRICS_TOKEN for Prometheus')
  if (config.internalApiKeys.length > 0) {
    const weak = config.internalApiKeys.map((key, index) => [index + 1, secretWeakness(key)] as const).filter(([, weakness]) => weakness)
    add(`INTERNAL_API_KEYS strong (>= ${MIN_SECRET_BYTES} bytes, >= ${MIN_SECRET_BITS} bits estimated)`, weak.length === 0,
      weak.length ? weak.map(([n, weakness]) => `key ${n} ${weakness}`).join('; ') : `${config.internalApiKeys.length} key(s)`)
  }
  add('No bootstrap password left in the environment', config.admin.password ? 'warn' : true, config.admin.password ? 'remove TYMPAN_ADMIN_PASSWORD after the first start' : 'not set')
  add('Runs as a non-root user', host.uid !== 0 ? true : 'warn', host.uid === 0 ? 'running as root' : `uid ${host.uid}`)
  if (host.dataDirMode !== undefined) add('Data directory private (0700)', (host.dataDirMode & 0o077) === 0 ? true : 'warn', `mode ${(host.dataDirMode & 0o777).toString(8)}`)
  add('Audit logging', true, config.logs.auditRetentionDays > 0 ? `always on (audit_log table), rows kept ${config.logs.auditRetentionDays} days (AUDIT_RETENTION_DAYS)` : 'always on (audit_log table), kept forever (AUDIT_RETENTION_DAYS sets a retention)')
  const atRest = encryptionAtRest(config)
  add('Stored audio encrypted at rest', atRest ? true : 'warn', atRest ?? 'off: set STORAGE_ENCRYPTION_KEY (or S3_SSE on a bucket) so that a stolen disk, bucket or object-store copy holds no readable audio (docs/security.md, "Encryption at rest")')
  for (const problem of configProblems(config)) {
    if (!items.some((i) => i.status === 'fail' && problem.includes(i.item.split(' ')[0]!))) items.push({ item: 'Configuration', status: 'fail', detail: problem })
  }
  return items
}

/** What encrypts stored objects in this configuration, or undefined when nothing does. */
function encryptionAtRest (config: Config): string | undefined {
  if (config.storageEncryption.current) return `STORAGE_ENCRYPTION_KEY (key ${config.storageEncryption.current.id}), AES-256-GCM per object`
  if (config.storage.driver === 's3' && config.storage.serverSideEncryption) return `S3 server-side (${config.storage.serverSideEncryption.ServerSideEncryption})`
  return undefined
}
