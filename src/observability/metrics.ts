import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client'
import type { LimitName } from '../guard/rate-limit.policy.ts'
import { requestSeries } from './request-series.ts'

/**
 * Why an upload or URL import was refused. A fixed set, so the label stays small whatever
 * clients send: the detail of each refusal is in the problem answer and the log, not here.
 */
export const UPLOAD_REJECTION_REASONS = [
  'name', 'extension', 'magic', 'decode', 'duration', 'size', 'quota', 'multipart',
  'import_address', 'import_timeout', 'import_other', 'other'
] as const
export type UploadRejectionReason = typeof UPLOAD_REJECTION_REASONS[number]

export const AUTH_FAILURE_REASONS = [
  'login_failure', 'reauth_failure', 'lockout', 'invalid_key', 'invalid_token', 'csrf', 'forbidden', 'refresh_reuse'
] as const
export type AuthFailureReason = typeof AUTH_FAILURE_REASONS[number]

// A Record, not a list, so that a budget added to the rate limiter fails to compile here
// until it is named (and its series exists from the first scrape).
const RATE_LIMITS: Record<LimitName, true> = { requests: true, uploads: true, login_ip: true, login_account: true }

// Uploads and imports legitimately take minutes; the default buckets stop at 10 s.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
// Job attempts run from a second (a short analysis) to hours (a long transcription).
const JOB_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200]

/** How one job attempt ended, as counted: a retried attempt is not yet a failure. */
export const JOB_OUTCOMES = ['succeeded', 'failed', 'retried', 'stopped'] as const
export type JobOutcome = typeof JOB_OUTCOMES[number]

const REJECTION = Symbol('tympan.uploadRejection')

/**
 * Marks a refusal with its metrics reason where the reason is known (the check that failed),
 * without changing what the client sees: the mark is a symbol-keyed property, which neither
 * the error handler nor JSON serialisation reads. Error classes of the modules mark themselves
 * in their constructor, so this folder never has to know them.
 */
export function rejectedFor<E extends Error> (reason: UploadRejectionReason, error: E): E {
  Object.defineProperty(error, REJECTION, { value: reason, enumerable: false })
  return error
}

// @fastify/multipart and busboy refusals of the envelope itself.
const MULTIPART_CODES = new Set([
  'FST_PARTS_LIMIT', 'FST_FIELDS_LIMIT', 'FST_FILES_LIMIT', 'FST_PROTO_VIOLATION',
  'FST_INVALID_MULTIPART_CONTENT_TYPE', 'FST_REQ_FILE_TOO_LARGE'
])

/**
 * Pure: the reason an upload or import was refused, or undefined when the error is not a
 * refusal (a 5xx is a failure of the server, counted by http_requests_total, not here).
 * A mark set with rejectedFor() wins; unmarked client errors count as `other`, so a new
 * refusal is never silently left out.
 */
export function uploadRejectionReason (error: unknown): UploadRejectionReason | undefined {
  if (!(error instanceof Error)) return undefined
  const marked = (error as { [REJECTION]?: UploadRejectionReason })[REJECTION]
  if (marked) return marked
  const { code, status, statusCode } = error as { code?: unknown, status?: unknown, statusCode?: unknown }
  if (typeof code === 'string' && MULTIPART_CODES.has(code)) return 'multipart'
  const httpStatus = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : undefined
  if (httpStatus === 413) return 'size'
  if (httpStatus !== undefined && httpStatus >= 400 && httpStatus < 500) return 'other'
  return undefined
}

// The audit actions that record a refused credential or permission.
const AUDITED_FAILURES: Readonly<Record<string, AuthFailureReason>> = {
  'auth.login.failure': 'login_failure',
  'auth.login.expired_password': 'login_failure',
  // A wrong current password before a password change or an erasure: the same guessing, signed in.
  'auth.password.change_failed': 'reauth_failure',
  'user.erase_failed': 'reauth_failure',
  'auth.login.locked': 'lockout',
  'auth.csrf.failure': 'csrf',
  'authz.denied': 'forbidden',
  'auth.refresh.reuse_detected': 'refresh_reuse'
}

/** Pure: the auth failure an audit action records, if it records one. */
export const authFailureForAudit = (action: string): AuthFailureReason | undefined =>
  Object.hasOwn(AUDITED_FAILURES, action) ? AUDITED_FAILURES[action] : undefined

/**
 * A predicate for `Authorization: Bearer <secret>`, never true when `secret` is empty. Both
 * sides are hashed first so the comparison takes the same time whatever the length sent.
 */
export function bearerSecretMatcher (secret: string): (headers: IncomingHttpHeaders) => boolean {
  if (!secret) return () => false
  const expected = createHash('sha256').update(secret).digest()
  return (headers) => {
    const match = /^Bearer +(\S+) *$/i.exec(headers.authorization ?? '')
    return match !== null && timingSafeEqual(createHash('sha256').update(match[1] as string).digest(), expected)
  }
}

export interface Metrics {
  readonly registry: Registry
  /** `route` is the route pattern or "unmatched", never a raw URL. */
  observeRequest (method: string, route: string, status: number, seconds: number): void
  /** Counts a refused upload or import; returns its reason (undefined: not a refusal, nothing counted). */
  uploadRefused (error: unknown): UploadRejectionReason | undefined
  authFailure (reason: AuthFailureReason): void
  /** Called by the rate limiter each time a request is refused (429) by the budget `limit`. */
  rateLimitHit (limit: LimitName): void
  /** One job attempt ended in this process (`stopped`: canceled, or its claim lapsed). */
  jobAttempt (type: string, outcome: JobOutcome, seconds: number): void
}

/**
 * One registry per app, not prom-client's global one: tests (and benchmarks) build several
 * apps in one process, and each must count only its own traffic.
 */
export function createMetrics (): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })

  const requests = requestSeries(registry, DURATION_BUCKETS)
  const uploadRejections = new Counter({
    name: 'tympan_upload_rejections_total',
    help: 'Uploads and URL imports refused, by reason',
    labelNames: ['reason'] as const,
    registers: [registry]
  })
  const authFailures = new Counter({
    name: 'tympan_auth_failures_total',
    help: 'Refused sign-ins, credentials and permissions, by reason',
    labelNames: ['reason'] as const,
    registers: [registry]
  })
  const rateLimitHits = new Counter({
    name: 'tympan_rate_limit_hits_total',
    help: 'Requests refused with 429, by the budget that ran out',
    labelNames: ['limit'] as const,
    registers: [registry]
  })
  const jobAttempts = new Histogram({
    name: 'tympan_job_attempt_seconds',
    help: 'Job attempts run by this process\'s workers, by job type and outcome',
    labelNames: ['type', 'outcome'] as const,
    buckets: JOB_BUCKETS,
    registers: [registry]
  })
  // Every series exists from the start at 0, so rate() and alerts see the first event.
  for (const reason of UPLOAD_REJECTION_REASONS) uploadRejections.inc({ reason }, 0)
  for (const reason of AUTH_FAILURE_REASONS) authFailures.inc({ reason }, 0)
  for (const limit of Object.keys(RATE_LIMITS)) rateLimitHits.inc({ limit }, 0)

  return {
    registry,
    observeRequest: requests.observe,
    uploadRefused (error) {
      const reason = uploadRejectionReason(error)
      if (reason) uploadRejections.inc({ reason })
      return reason
    },
    authFailure (reason) {
      authFailures.inc({ reason })
    },
    rateLimitHit (limit) {
      rateLimitHits.inc({ limit })
    },
    jobAttempt (type, outcome, seconds) {
      jobAttempts.observe({ type, outcome }, seconds)
    }
  }
}
