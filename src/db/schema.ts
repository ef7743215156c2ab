import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>

export type Role = 'admin' | 'member' | 'viewer'
export type Tier = 'free' | 'premium' | 'enterprise'

export interface UsersTable {
  id: Generated<string>
  email: string
  password_hash: string | null
  role: Role
  tier: ColumnType<Tier, Tier | undefined, Tier>
  disabled: Generated<boolean>
  is_service: Generated<boolean>
  created_at: Timestamp
  updated_at: Timestamp
  password_changed_at: NullableTimestamp
  /** Set while the password is one-time (generated, or set by an admin): only the change is allowed. */
  must_change_password: Generated<boolean>
  /** A one-time password stops signing in after this; the user's own password never expires. */
  password_expires_at: NullableTimestamp
}

export interface SessionsTable {
  id: Generated<string>
  user_id: string
  user_agent: Generated<string>
  ip: Generated<string>
  created_at: Timestamp
  last_active_at: Timestamp
  expires_at: ColumnType<Date, Date | string, Date | string>
  revoked_at: NullableTimestamp
  revoke_reason: string | null
}

export interface RefreshTokensTable {
  token_hash: string
  session_id: string
  created_at: Timestamp
  rotated_at: NullableTimestamp
}

export interface RevokedAccessTokensTable {
  jti: string
  expires_at: ColumnType<Date, Date | string, Date | string>
}

export interface ApiKeysTable {
  id: string
  user_id: string
  name: string
  secret_hash: string
  scopes: string[]
  created_at: Timestamp
  expires_at: NullableTimestamp
  last_used_at: NullableTimestamp
  revoked_at: NullableTimestamp
}

export interface LoginFailuresTable {
  email: string
  ip: string
  failures: number
  last_failure_at: ColumnType<Date, Date | string, Date | string>
  locked_until: NullableTimestamp
}

export interface AuditLogTable {
  id: Generated<number>
  at: Timestamp
  request_id: string | null
  actor_user_id: string | null
  actor_key_id: string | null
  ip: string | null
  method: string | null
  route: string | null
  action: string
  status: number | null
  detail: ColumnType<Record<string, unknown>, string | undefined, string>
}

export type AudioFormat = 'mp3' | 'wav' | 'flac' | 'aac' | 'ogg' | 'm4a' | 'wma'

export interface FilesTable {
  id: string
  owner_id: string
  name: string
  format: AudioFormat
  content_type: string
  size: number
  sha256: string
  duration_sec: number
  sample_rate: number
  channels: number
  codec: string
  source: 'upload' | 'resumable' | 'import'
  source_url: string | null
  created_at: Timestamp
  expires_at: ColumnType<Date, Date | string, Date | string>
}

export interface ResumableUploadsTable {
  id: string
  owner_id: string
  declared_size: number
  created_at: Timestamp
  last_activity_at: Timestamp
}

export type JobErrorCode = 'invalid_input' | 'missing_engine' | 'engine_failed' | 'timeout' | 'worker_lost'
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled'
type Json = ColumnType<unknown, string | undefined, string>

export interface JobsTable {
  id: string
  owner_id: string
  type: string
  file_id: string | null
  params: ColumnType<Record<string, unknown>, string | undefined, string>
  status: ColumnType<JobStatus, JobStatus | undefined, JobStatus>
  progress: ColumnType<number, number | undefined, number>
  stage: ColumnType<string, string | undefined, string>
  attempts: ColumnType<number, number | undefined, number>
  error: string | null
  error_code: JobErrorCode | null
  result: Json | null
  created_at: Timestamp
  started_at: NullableTimestamp
  finished_at: NullableTimestamp
  expires_at: NullableTimestamp
}

export interface JobArtifactsTable {
  job_id: string
  name: string
  object_id: string
  content_type: string
  size: number
}

export interface JobEventsTable {
  id: Generated<number>
  job_id: string
  kind: 'status' | 'progress' | 'partial'
  data: ColumnType<Record<string, unknown>, string, string>
  at: Timestamp
}

export type TranslationStatus = 'ok' | 'failed'

export interface TranslationLogsTable {
  id: Generated<string>
  user_id: string
  source_lang: string
  target_lang: string
  route: string[]
  characters: number
  duration_ms: number
  status: TranslationStatus
  /** NULL unless TRANSLATION_LOG_TEXT=true, and again after FILE_RETENTION_HOURS. */
  text: string | null
  created_at: Timestamp
}

export interface ObjectKeysTable {
  object_id: string
  /** The master key's fingerprint (config/storage-encryption.ts), never the key. */
  key_id: string
  wrapped: Uint8Array
  created_at: Timestamp
  rewrapped_at: NullableTimestamp
}

export interface SchemaMigrationsTable {
  version: string
  applied_at: Timestamp
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  revoked_access_tokens: RevokedAccessTokensTable
  api_keys: ApiKeysTable
  login_failures: LoginFailuresTable
  audit_log: AuditLogTable
  files: FilesTable
  resumable_uploads: ResumableUploadsTable
  jobs: JobsTable
  job_artifacts: JobArtifactsTable
  job_events: JobEventsTable
  translation_logs: TranslationLogsTable
  object_keys: ObjectKeysTable
  schema_migrations: SchemaMigrationsTable
}

/** A user's columns as joined onto a session or an API key row. */
export interface OwnerColumns {
  user_id: string
  email: string
  role: Role
  tier: Tier
  disabled: boolean
  must_change_password: boolean
  user_created_at: Date
  user_updated_at: Date
}

export type User = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>
export type Session = Selectable<SessionsTable>
export type ApiKey = Selectable<ApiKeysTable>
export type AuditEntry = Selectable<AuditLogTable>
export type AudioFile = Selectable<FilesTable>
export type NewAudioFile = Insertable<FilesTable>
export type ResumableUpload = Selectable<ResumableUploadsTable>
export type NewResumableUpload = Insertable<ResumableUploadsTable>
export type Job = Selectable<JobsTable>
export type JobArtifact = Selectable<JobArtifactsTable>
export type JobEvent = Selectable<JobEventsTable>
export type TranslationLog = Selectable<TranslationLogsTable>
