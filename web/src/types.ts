// The shapes the API answers with (the OpenAPI document at /docs is the reference).

export type Role = 'admin' | 'member' | 'viewer'
export type Tier = 'free' | 'premium' | 'enterprise'

export interface User {
  id: string
  email: string
  role: Role
  tier: Tier
  disabled: boolean
  mustChangePassword: boolean
  createdAt: string
  updatedAt: string
}

export interface Me {
  user: User
  scopes: string[]
  authenticatedBy: string
}

export interface Page<T, C = string> {
  items: T[]
  nextCursor: C | null
}

export interface AudioFile {
  id: string
  name: string
  format: string
  contentType: string
  size: number
  sha256: string
  durationSec: number
  sampleRate: number
  channels: number
  codec: string
  source: string
  createdAt: string
  expiresAt: string
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled'

export interface Artifact {
  name: string
  contentType: string
  size: number
}

export interface Job {
  id: string
  type: string
  status: JobStatus
  progress: number
  stage: string
  fileId: string | null
  params: Record<string, unknown>
  result: unknown
  artifacts: Artifact[]
  error: string | null
  errorCode: string | null
  attempts: number
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

/** The subset of JSON Schema the job types' params use (TypeBox output). */
export interface JsonSchema {
  type?: string | string[]
  description?: string
  default?: unknown
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  const?: unknown
  enum?: unknown[]
  anyOf?: JsonSchema[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
}

export interface JobType {
  name: string
  summary: string
  input: 'file' | 'none'
  params: JsonSchema
}

export interface ApiKey {
  id: string
  prefix: string
  name: string
  scopes: string[]
  createdAt: string
  expiresAt: string | null
  lastUsedAt: string | null
  revokedAt: string | null
}

export interface SessionItem {
  id: string
  userAgent: string
  ip: string
  createdAt: string
  lastActiveAt: string
  expiresAt: string
  current: boolean
}

export interface AuditItem {
  id: number
  at: string
  requestId: string | null
  actorUserId: string | null
  actorKeyId: string | null
  ip: string | null
  method: string | null
  route: string | null
  action: string
  status: number | null
  detail: Record<string, unknown>
}

export interface VoiceDetail {
  id: string
  engine: string
  /** The language tag it speaks, lowercased (`en-us`). */
  language: string
  description: string
  openai?: string[]
  aliases?: string[]
}

export interface EngineInfo {
  name: string
  available: boolean
  version?: string
  package: string
  languages?: string[]
  voices?: string[]
  voiceDetails?: VoiceDetail[]
  detail?: string
}

export interface TranscriptWord { word: string, start: number, end: number, confidence?: number }
export interface TranscriptSegment { id: number, start: number, end: number, text: string, words: TranscriptWord[] }
export interface Transcript { text: string, segments: TranscriptSegment[], language: string, duration: number, engine?: string }
