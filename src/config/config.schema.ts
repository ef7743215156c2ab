import Type, { type Static } from 'typebox'

// Every variable Tympan reads, with its default. `.env.example` mirrors this file; a test
// keeps the two in step.
export const EnvSchema = Type.Object({
  TYMPAN_ENV: Type.Union([Type.Literal('development'), Type.Literal('production')], { default: 'development' }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  TYMPAN_DATA_DIR: Type.String({ default: './data' }),
  DATABASE_URL: Type.String({ default: '' }),
  REDIS_URL: Type.String({ default: '' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),

  JWT_SECRET_KEY: Type.String({ default: '' }),
  CSRF_SECRET_KEY: Type.String({ default: '' }),
  SESSION_SECRET_KEY: Type.String({ default: '' }),
  AUTH_ENABLED: Type.Boolean({ default: true }),
  PUBLIC_URL: Type.String({ default: '' }),

  TYMPAN_ADMIN_EMAIL: Type.String({ default: 'admin@tympan.local' }),
  TYMPAN_ADMIN_PASSWORD: Type.String({ default: '' }),

  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 3600, default: 900 }),
  REFRESH_TOKEN_TTL_DAYS: Type.Integer({ minimum: 1, maximum: 365, default: 30 }),
  REFRESH_TOKEN_IDLE_DAYS: Type.Integer({ minimum: 1, maximum: 365, default: 7 }),
  LOGIN_MAX_FAILURES: Type.Integer({ minimum: 1, default: 10 }),
  LOGIN_LOCK_MINUTES: Type.Integer({ minimum: 1, default: 15 }),

  CORS_ORIGINS: Type.String({ default: '' }),
  TRUSTED_PROXIES: Type.String({ default: '' }),
  INTERNAL_API_KEYS: Type.String({ default: '' }),
  FORCE_HTTPS: Type.Boolean({ default: false }),

  MAX_FILE_SIZE_MB: Type.Integer({ minimum: 1, default: 500 }),
  MAX_DURATION_SECONDS: Type.Integer({ minimum: 1, default: 14400 }),
  FILE_RETENTION_HOURS: Type.Integer({ minimum: 1, default: 24 }),
  QUOTA_MB_FREE: Type.Integer({ minimum: 0, default: 2048 }),
  QUOTA_MB_PREMIUM: Type.Integer({ minimum: 0, default: 20480 }),
  QUOTA_MB_ENTERPRISE: Type.Integer({ minimum: 0, default: 0 }),
  SWEEP_INTERVAL_MINUTES: Type.Integer({ minimum: 1, default: 5 }),
  RESUMABLE_EXPIRY_HOURS: Type.Integer({ minimum: 1, default: 24 }),
  IMPORT_ALLOW_HTTP: Type.Boolean({ default: false }),
  IMPORT_ALLOW_PRIVATE: Type.Boolean({ default: false }),
  IMPORT_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 120 }),
  IMPORT_MEDIA_HOSTS: Type.String({ default: '' }),
  RATE_LIMIT_ENABLED: Type.Boolean({ default: true }),
  RATE_LIMIT_REQUESTS: Type.Integer({ minimum: 1, default: 100 }),
  RATE_LIMIT_WINDOW: Type.Integer({ minimum: 1, default: 60 }),
  RATE_LIMIT_BURST: Type.Integer({ minimum: 0, default: 20 }),
  RATE_LIMIT_PREMIUM_REQUESTS: Type.Integer({ minimum: 1, default: 1000 }),
  RATE_LIMIT_ENTERPRISE_REQUESTS: Type.Integer({ minimum: 1, default: 10000 }),
  RATE_LIMIT_UPLOADS_FREE: Type.Integer({ minimum: 1, default: 10 }),
  RATE_LIMIT_UPLOADS_PREMIUM: Type.Integer({ minimum: 1, default: 100 }),
  RATE_LIMIT_UPLOADS_ENTERPRISE: Type.Integer({ minimum: 1, default: 1000 }),
  RATE_LIMIT_LOGIN_PER_IP: Type.Integer({ minimum: 1, default: 30 }),
  RATE_LIMIT_LOGIN_PER_ACCOUNT: Type.Integer({ minimum: 1, default: 10 }),
  METRICS_TOKEN: Type.String({ default: '' }),
  TLS_CERT_FILE: Type.String({ default: '' }),
  TLS_KEY_FILE: Type.String({ default: '' }),
  MAX_CONNECTIONS: Type.Integer({ minimum: 1, default: 1024 }),
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, default: 1000 }),
  PRESSURE_MAX_HEAP_MB: Type.Integer({ minimum: 0, default: 0 }),

  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 1048576 }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 300000 }),
  HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 15000 }),
  KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 5000 }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 100, default: 10000 })
})

export type Env = Static<typeof EnvSchema>
