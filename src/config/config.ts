import os from 'node:os'
import path from 'node:path'
import { Ajv } from 'ajv'
import { EnvSchema, type Env } from './config.schema.ts'
import { secretWeakness } from './secret-strength.ts'
import { parseStorageEncryption, type StorageEncryption } from './storage-encryption.ts'
import { parseStorageUrl, type StorageTarget } from './storage-url.ts'
import { parseLogFile, parseLogSize, type LogFileTarget } from './log-settings.ts'

export interface Secrets {
  jwt: string
  csrf: string
  session: string
}

export interface Config {
  env: Env['TYMPAN_ENV']
  isProduction: boolean
  host: string
  port: number
  dataDir: string
  databaseUrl: string
  /** The owner role that migrates, when DATABASE_URL is a restricted runtime role (docs/security.md "Database roles"). */
  migration: { databaseUrl: string }
  redisUrl: string
  logLevel: Env['LOG_LEVEL']
  /** Log file, rotation and retention, and the audit log's retention (docs/operations.md, "Logs"). */
  logs: {
    /** Besides stdout; undefined: stdout only. */
    file: LogFileTarget | undefined
    maxBytes: number
    /** Rotated files kept besides the current one. */
    backupCount: number
    /** Rotated files last written longer ago are deleted; 0 keeps them (up to backupCount). */
    retentionDays: number
    /** Audit rows older than this are deleted by the retention sweep; 0 keeps them forever. */
    auditRetentionDays: number
  }
  secrets: Secrets
  authEnabled: boolean
  publicUrl: string
  admin: { email: string, password: string }
  auth: {
    accessTtlSec: number
    refreshTtlDays: number
    refreshIdleDays: number
    loginMaxFailures: number
    loginLockMinutes: number
    /** Life of a generated or admin-set password, which must be changed at first sign-in. */
    oneTimePasswordHours: number
    /** Failures for one account across every address (within an hour) per `auth.login.targeted` audit row. */
    loginAccountAlertFailures: number
  }
  corsOrigins: string[]
  trustedProxies: string[]
  internalApiKeys: string[]
  forceHttps: boolean
  intake: {
    maxFileBytes: number
    maxDurationSec: number
    /**
     * A refused upload's body is read and discarded up to this many more bytes (then the
     * connection is cut), so that a browser gets to read the 413 instead of a reset.
     */
    drainMaxBytes: number
    drainTimeoutMs: number
    retentionHours: number
    /** Bytes per tier; 0 means unlimited. */
    quotaBytes: { free: number, premium: number, enterprise: number }
    sweepIntervalMs: number
    resumableExpiryMs: number
    /** An open upload with no PATCH for this long is swept, bytes and reservation. */
    resumableIdleMs: number
    /** Open resumable uploads a user may hold at once, per tier. */
    resumableMaxOpen: { free: number, premium: number, enterprise: number }
    importAllowHttp: boolean
    importAllowPrivate: boolean
    importTimeoutMs: number
    importMediaHosts: string[]
    /** Ports a URL import may connect to; empty means 443, and 80 when http is allowed. */
    importAllowedPorts: number[]
  }
  jobs: {
    /** In-process workers; 0 makes this process API-only (`tympan worker` does the work). */
    workerConcurrency: number
    maxUnfinished: { free: number, premium: number, enterprise: number }
    maxRunning: { free: number, premium: number, enterprise: number }
    heartbeatSec: number
    retryLimit: number
    queueSchema: string
    deleteAfterProcessing: boolean
    transcribeEngine: 'pocketsphinx' | 'whisper'
    whisperBin: string
    whisperModel: string
    /** A General MIDI SoundFont for music generation; empty: the best installed Debian one. */
    soundfont: string
    syncTimeoutMs: number
    /** Open job event streams (SSE), counted in this process. */
    eventStreams: {
      /** Every stream of a user, whatever the credential (session or one of their keys). */
      perUser: number
      /** By client address, IPv6 by /64. */
      perAddress: number
      /** Each INTERNAL_API_KEYS key on its own, not by address. */
      perInternalKey: number
      /** A stream ends after this long (or when its access token expires); clients resume with Last-Event-ID. */
      maxLifeMs: number
    }
  }
  translation: {
    /** Whether the translation log keeps the source text (personal data: off by default). */
    logText: boolean
    /** Log rows are deleted this long after the translation; a kept text goes after FILE_RETENTION_HOURS. */
    logRetentionDays: number
  }
  limits: {
    bodyLimit: number
    requestTimeoutMs: number
    headersTimeoutMs: number
    keepAliveTimeoutMs: number
    shutdownGraceMs: number
  }
  rateLimit: {
    enabled: boolean
    windowSec: number
    burst: number
    /** Requests per window, by tier. */
    requests: { free: number, premium: number, enterprise: number }
    /** Uploads and job creations per minute, by tier. */
    uploadsPerMinute: { free: number, premium: number, enterprise: number }
    loginPerIpPerMinute: number
    loginPerAccountPerMinute: number
  }
  metricsToken: string
  tls: { certFile: string, keyFile: string }
  maxConnections: number
  pressure: { maxEventLoopDelayMs: number, maxHeapBytes: number }
  /** STORAGE_URL and the S3_* overrides, checked at start (docs/storage.md). */
  storage: StorageTarget
  /** STORAGE_ENCRYPTION_KEY and its older keys: encryption at rest of every object (docs/security.md). */
  storageEncryption: StorageEncryption
  /** An object no row names is deleted by the sweep once older than this (docs/storage.md). */
  orphanObjectGraceMs: number
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true, strict: false })
const validateEnv = ajv.compile<Env>(EnvSchema)

const MB = 1024 * 1024
const csv = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean)

function ports (value: string): number[] {
  return csv(value).map((entry) => {
    const port = Number(entry)
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`Invalid configuration: IMPORT_ALLOWED_PORTS holds ${entry}, not a port (1-65535)`)
    return port
  })
}

/** Pure: environment record in, frozen typed config out. Secrets may still be empty here. */
export function parseEnv (source: Record<string, string | undefined>): Config {
  const known = Object.keys(EnvSchema.properties)
  const raw: Record<string, string> = {}
  for (const name of known) {
    const value = source[name]
    if (value !== undefined && value !== '') raw[name] = value
  }
  if (!validateEnv(raw)) {
    const problems = (validateEnv.errors ?? []).map((e) => {
      const name = e.instancePath.replace(/^\//, '')
      return `${name || 'environment'} ${e.message ?? 'is invalid'}`
    })
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`)
  }
  const env = raw as unknown as Env
  const storage = parseStorageUrl(env.STORAGE_URL, path.resolve(env.TYMPAN_DATA_DIR), { endpoint: env.S3_ENDPOINT, forcePathStyle: env.S3_FORCE_PATH_STYLE, region: env.S3_REGION }, { mode: env.S3_SSE, kmsKeyId: env.S3_SSE_KMS_KEY_ID })
  if ('problem' in storage) throw new ConfigError(`Invalid configuration: ${storage.problem}`)
  const migrationProblem = migrationUrlProblem(env.DATABASE_MIGRATION_URL, env.DATABASE_URL)
  if (migrationProblem) throw new ConfigError(`Invalid configuration: ${migrationProblem}`)
  const logFile = env.LOG_FILE === '' ? undefined : parseLogFile(env.LOG_FILE)
  if (logFile && 'problem' in logFile) throw new ConfigError(`Invalid configuration: ${logFile.problem}`)
  const logMaxBytes = parseLogSize(env.LOG_MAX_SIZE)
  if (typeof logMaxBytes !== 'number') throw new ConfigError(`Invalid configuration: ${logMaxBytes.problem}`)
  const storageEncryption = parseStorageEncryption(env.STORAGE_ENCRYPTION_KEY, env.STORAGE_ENCRYPTION_PREVIOUS_KEYS)
  if ('problems' in storageEncryption) throw new ConfigError(`Invalid configuration: ${storageEncryption.problems.join('; ')}`)
  return deepFreeze({
    env: env.TYMPAN_ENV,
    isProduction: env.TYMPAN_ENV === 'production',
    host: env.HOST,
    port: env.PORT,
    dataDir: path.resolve(env.TYMPAN_DATA_DIR),
    databaseUrl: env.DATABASE_URL,
    migration: { databaseUrl: env.DATABASE_MIGRATION_URL },
    redisUrl: env.REDIS_URL,
    logLevel: env.LOG_LEVEL,
    logs: {
      file: logFile,
      maxBytes: logMaxBytes,
      backupCount: env.LOG_BACKUP_COUNT,
      retentionDays: env.LOG_RETENTION_DAYS,
      auditRetentionDays: env.AUDIT_RETENTION_DAYS
    },
    secrets: { jwt: env.JWT_SECRET_KEY, csrf: env.CSRF_SECRET_KEY, session: env.SESSION_SECRET_KEY },
    authEnabled: env.AUTH_ENABLED,
    publicUrl: env.PUBLIC_URL,
    admin: { email: env.TYMPAN_ADMIN_EMAIL, password: env.TYMPAN_ADMIN_PASSWORD },
    auth: {
      accessTtlSec: env.ACCESS_TOKEN_TTL_SECONDS,
      refreshTtlDays: env.REFRESH_TOKEN_TTL_DAYS,
      refreshIdleDays: env.REFRESH_TOKEN_IDLE_DAYS,
      loginMaxFailures: env.LOGIN_MAX_FAILURES,
      loginLockMinutes: env.LOGIN_LOCK_MINUTES,
      oneTimePasswordHours: env.ONE_TIME_PASSWORD_HOURS,
      loginAccountAlertFailures: env.LOGIN_ACCOUNT_ALERT_FAILURES
    },
    corsOrigins: csv(env.CORS_ORIGINS),
    trustedProxies: csv(env.TRUSTED_PROXIES),
    internalApiKeys: csv(env.INTERNAL_API_KEYS),
    forceHttps: env.FORCE_HTTPS,
    intake: {
      maxFileBytes: env.MAX_FILE_SIZE_MB * MB,
      maxDurationSec: env.MAX_DURATION_SECONDS,
      drainMaxBytes: env.UPLOAD_DRAIN_MAX_MB * MB,
      drainTimeoutMs: env.UPLOAD_DRAIN_SECONDS * 1000,
      retentionHours: env.FILE_RETENTION_HOURS,
      quotaBytes: { free: env.QUOTA_MB_FREE * MB, premium: env.QUOTA_MB_PREMIUM * MB, enterprise: env.QUOTA_MB_ENTERPRISE * MB },
      sweepIntervalMs: env.SWEEP_INTERVAL_MINUTES * 60_000,
      resumableExpiryMs: env.RESUMABLE_EXPIRY_HOURS * 3_600_000,
      resumableIdleMs: env.RESUMABLE_IDLE_MINUTES * 60_000,
      resumableMaxOpen: { free: env.RESUMABLE_MAX_OPEN_FREE, premium: env.RESUMABLE_MAX_OPEN_PREMIUM, enterprise: env.RESUMABLE_MAX_OPEN_ENTERPRISE },
      importAllowHttp: env.IMPORT_ALLOW_HTTP,
      importAllowPrivate: env.IMPORT_ALLOW_PRIVATE,
      importTimeoutMs: env.IMPORT_TIMEOUT_SECONDS * 1000,
      importMediaHosts: csv(env.IMPORT_MEDIA_HOSTS).map((h) => h.toLowerCase()),
      importAllowedPorts: ports(env.IMPORT_ALLOWED_PORTS)
    },
    jobs: {
      workerConcurrency: env.WORKER_CONCURRENCY === 'auto' ? os.availableParallelism() : Number(env.WORKER_CONCURRENCY),
      maxUnfinished: { free: env.JOBS_MAX_UNFINISHED_FREE, premium: env.JOBS_MAX_UNFINISHED_PREMIUM, enterprise: env.JOBS_MAX_UNFINISHED_ENTERPRISE },
      maxRunning: { free: env.JOBS_MAX_RUNNING_FREE, premium: env.JOBS_MAX_RUNNING_PREMIUM, enterprise: env.JOBS_MAX_RUNNING_ENTERPRISE },
      heartbeatSec: env.JOB_HEARTBEAT_SECONDS,
      retryLimit: env.JOB_RETRY_LIMIT,
      queueSchema: env.JOB_QUEUE_SCHEMA,
      deleteAfterProcessing: env.DELETE_AFTER_PROCESSING,
      transcribeEngine: env.TRANSCRIBE_ENGINE,
      whisperBin: env.WHISPER_CPP_BIN,
      whisperModel: env.WHISPER_MODEL,
      soundfont: env.SOUNDFONT,
      syncTimeoutMs: env.SYNC_TIMEOUT_SECONDS * 1000,
      eventStreams: {
        perUser: env.EVENT_STREAMS_PER_USER,
        perAddress: env.EVENT_STREAMS_PER_ADDRESS,
        perInternalKey: env.EVENT_STREAMS_PER_INTERNAL_KEY,
        maxLifeMs: env.EVENT_STREAM_MAX_SECONDS * 1000
      }
    },
    translation: {
      logText: env.TRANSLATION_LOG_TEXT,
      logRetentionDays: env.TRANSLATION_LOG_RETENTION_DAYS
    },
    limits: {
      bodyLimit: env.BODY_LIMIT_BYTES,
      requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
      headersTimeoutMs: env.HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: env.KEEP_ALIVE_TIMEOUT_MS,
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS
    },
    rateLimit: {
      enabled: env.RATE_LIMIT_ENABLED,
      windowSec: env.RATE_LIMIT_WINDOW,
      burst: env.RATE_LIMIT_BURST,
      requests: { free: env.RATE_LIMIT_REQUESTS, premium: env.RATE_LIMIT_PREMIUM_REQUESTS, enterprise: env.RATE_LIMIT_ENTERPRISE_REQUESTS },
      uploadsPerMinute: { free: env.RATE_LIMIT_UPLOADS_FREE, premium: env.RATE_LIMIT_UPLOADS_PREMIUM, enterprise: env.RATE_LIMIT_UPLOADS_ENTERPRISE },
      loginPerIpPerMinute: env.RATE_LIMIT_LOGIN_PER_IP,
      loginPerAccountPerMinute: env.RATE_LIMIT_LOGIN_PER_ACCOUNT
    },
    metricsToken: env.METRICS_TOKEN,
    tls: { certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE },
    maxConnections: env.MAX_CONNECTIONS,
    pressure: { maxEventLoopDelayMs: env.PRESSURE_MAX_EVENT_LOOP_DELAY_MS, maxHeapBytes: env.PRESSURE_MAX_HEAP_MB * MB },
    storage,
    storageEncryption,
    orphanObjectGraceMs: env.ORPHAN_OBJECT_GRACE_MINUTES * 60_000
  })
}

const POSTGRES_URL = /^postgres(ql)?:\/\//i

/** An owner role only means something beside a PostgreSQL runtime role; PGlite has one role. */
function migrationUrlProblem (migrationUrl: string, databaseUrl: string): string | undefined {
  if (!migrationUrl) return undefined
  if (!POSTGRES_URL.test(migrationUrl)) return 'DATABASE_MIGRATION_URL must be a postgres:// URL'
  if (!databaseUrl) return 'DATABASE_MIGRATION_URL needs DATABASE_URL (PostgreSQL): the embedded PGlite database has no roles to separate'
  return undefined
}

const SECRET_VARS = { jwt: 'JWT_SECRET_KEY', csrf: 'CSRF_SECRET_KEY', session: 'SESSION_SECRET_KEY' } as const

/**
 * Pure policy check: the reasons this configuration must not serve in production.
 * Each reason names the variable to fix, so the operator is never left guessing.
 */
export function configProblems (config: Config): string[] {
  const problems: string[] = []
  if (!config.authEnabled && !isLoopbackHost(config.host)) problems.push(`AUTH_ENABLED=false is only allowed when HOST is a loopback address (HOST=${config.host})`)
  if (Boolean(config.tls.certFile) !== Boolean(config.tls.keyFile)) problems.push('TLS_CERT_FILE and TLS_KEY_FILE must be set together')
  // The redirect would otherwise loop, or lead browsers back to plain HTTP.
  if (config.forceHttps && config.publicUrl && !/^https:\/\//i.test(config.publicUrl)) problems.push(`FORCE_HTTPS=true needs an https:// PUBLIC_URL (PUBLIC_URL=${config.publicUrl})`)
  if (!config.isProduction) return problems
  for (const [field, name] of Object.entries(SECRET_VARS)) {
    const value = config.secrets[field as keyof Secrets]
    const weakness = value ? secretWeakness(value) : 'is missing'
    if (weakness) problems.push(`${name} ${weakness}`)
  }
  const secretValues = Object.values(config.secrets).filter(Boolean)
  if (new Set(secretValues).size !== secretValues.length) problems.push('JWT_SECRET_KEY, CSRF_SECRET_KEY and SESSION_SECRET_KEY must differ')
  if (!config.authEnabled) problems.push('AUTH_ENABLED=false is not allowed in production')
  if (config.corsOrigins.includes('*')) problems.push('CORS_ORIGINS=* is not allowed in production; list the exact origins')
  if (config.logLevel === 'debug' || config.logLevel === 'trace') problems.push(`LOG_LEVEL=${config.logLevel} is not allowed in production`)
  if (!servesHttps(config)) problems.push(PLAIN_HTTP_PROBLEM)
  const metricsWeakness = config.metricsToken ? secretWeakness(config.metricsToken) : undefined
  if (metricsWeakness) problems.push(`METRICS_TOKEN ${metricsWeakness}`)
  if (!config.rateLimit.enabled) problems.push('RATE_LIMIT_ENABLED=false is not allowed in production')
  if (config.intake.importAllowPrivate) problems.push('IMPORT_ALLOW_PRIVATE=true is not allowed in production: it opens the server to SSRF')
  if (config.intake.importAllowHttp) problems.push('IMPORT_ALLOW_HTTP=true is not allowed in production: a plain-HTTP download can be altered on the way')
  config.internalApiKeys.forEach((key, index) => {
    const weakness = secretWeakness(key)
    if (weakness) problems.push(`INTERNAL_API_KEYS key ${index + 1} of ${config.internalApiKeys.length} ${weakness}`)
  })
  return problems
}

/**
 * HTTPS is native (TLS_CERT_FILE) or terminated by a proxy that says so: FORCE_HTTPS makes
 * Tympan refuse what did not arrive over HTTPS, and TRUSTED_PROXIES is whose word it takes.
 * A sidecar on the same machine is such a proxy (TRUSTED_PROXIES=127.0.0.1), so no opt-out.
 */
export const servesHttps = (config: Config): boolean =>
  Boolean(config.tls.certFile) || (config.forceHttps && config.trustedProxies.length > 0)

export const PLAIN_HTTP_PROBLEM = 'TLS_CERT_FILE/TLS_KEY_FILE, or FORCE_HTTPS=true with TRUSTED_PROXIES, is required in production: plain HTTP would carry passwords, cookies and API keys in the clear'

const isLoopbackHost = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host)

/** Development-only footguns that are allowed but must be loud. */
export function developmentWarnings (config: Config): string[] {
  const warnings: string[] = []
  if (!config.authEnabled) warnings.push('AUTH_ENABLED=false: every request without credentials acts as the bootstrap admin')
  return warnings
}

export function deepFreeze<T> (value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
