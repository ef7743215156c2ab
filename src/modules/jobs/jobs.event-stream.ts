import { PassThrough, type Readable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import { HttpProblem } from '../../http/problem.ts'
import type { AuthService } from '../auth/auth.service.ts'
import type { Principal } from '../../access/permissions.ts'
import type { RevocationBus } from '../auth/revocation-bus.ts'
import type { JobSignals } from './jobs.events.ts'
import { EVENTS_PAGE } from './jobs.repository.ts'
import { isFinished, toPublicJob, type JobsService } from './jobs.service.ts'
import { streamClaims, type StreamBucket, type StreamLimiter } from './jobs.stream-limit.ts'

// Proxies and load balancers close connections that stay silent; a comment line every
// 15 s keeps an idle event stream open. The credential is re-checked on the same beat.
const KEEP_ALIVE_MS = 15_000
// The database is the truth and notifications only say "look now"; a slow poll covers a
// notification lost between processes.
const POLL_MS = 5_000
// EventSource waits this long before it reconnects (with Last-Event-ID) after a stream ends.
const RETRY_MS = 2000

const BUCKET_NAMES: Record<StreamBucket, string> = { user: 'per user', address: 'per client address', internal_key: 'per internal key' }

export interface JobEventStreamsDeps {
  jobs: Pick<JobsService, 'events' | 'eventsAfter' | 'artifactsOf'>
  signals: Pick<JobSignals, 'changed'>
  auth: Pick<AuthService, 'stillValid'>
  /** Ends streams at once when a credential changes anywhere; without it, only the keep-alive re-check does. */
  revocations?: Pick<RevocationBus, 'subscribe'>
  limiter: StreamLimiter
  maxLifeMs: number
  keepAliveMs?: number
  pollMs?: number
}

export interface OpenStream {
  principal: Principal
  ip: string
  jobId: string
  afterId: number
  log: FastifyBaseLogger
}

/**
 * A job's events as Server-Sent Events: what happened after `afterId`, then each new event
 * as it is written, then `done` (or `deleted`) and the end. A stream holds a slot of its
 * owner's budget while it is open and ends on its own: after its maximum life or when its
 * access token expires (a client resumes with Last-Event-ID and misses nothing), or with a
 * final `error` event when its credential no longer holds.
 */
export function jobEventStreams (deps: JobEventStreamsDeps) {
  const keepAliveMs = deps.keepAliveMs ?? KEEP_ALIVE_MS
  const pollMs = deps.pollMs ?? POLL_MS

  return {
    /** The stream to send, or a 429 before anything is opened; 404 for a job that is not the caller's. */
    async open ({ principal, ip, jobId, afterId, log }: OpenStream): Promise<Readable> {
      const now = Date.now()
      const endsAt = Math.min(now + deps.maxLifeMs, principal.tokenExpiresAt?.getTime() ?? Infinity)
      const slot = await deps.limiter.acquire(streamClaims(principal, ip), endsAt - now)
      if (!slot.ok) {
        throw new HttpProblem(429, 'Too Many Requests',
          `Too many open event streams: at most ${slot.limit} ${BUCKET_NAMES[slot.bucket]}; close one, or retry when one ends`,
          { extra: { limit: slot.limit, per: slot.bucket }, headers: { 'retry-after': String(Math.max(1, Math.ceil(slot.retryAfterMs / 1000))) } })
      }
      let first: Awaited<ReturnType<JobsService['events']>>
      try {
        first = await deps.jobs.events(principal, jobId, afterId)
      } catch (error) {
        slot.release()
        throw error
      }

      let cursor = afterId
      const stream = new PassThrough()
      let ended = false
      let busy = false
      let again = false
      let checking = false
      const send = (event: string, data: unknown, eventId?: number) => {
        stream.write(`${eventId === undefined ? '' : `id: ${eventId}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
      }
      const finish = (reason?: string) => {
        if (ended) return
        ended = true
        if (reason) send('error', { reason })
        slot.release()
        unsubscribeJobs()
        unsubscribeRevocations?.()
        clearInterval(keepAlive)
        clearInterval(poll)
        clearTimeout(lifeTimer)
        if (!stream.destroyed) stream.end()
      }
      const drain = async (batch: Awaited<ReturnType<JobsService['eventsAfter']>>) => {
        for (const event of batch.events) {
          if (ended) return
          send(event.kind, event.data, event.id)
          cursor = event.id
        }
        if (!batch.job) { send('deleted', { id: jobId }); finish(); return }
        if (isFinished(batch.job.status) && batch.events.length < EVENTS_PAGE) {
          const artifacts = await deps.jobs.artifactsOf(batch.job)
          if (ended) return
          send('done', toPublicJob(batch.job, artifacts))
          finish()
        }
      }
      const pump = async () => {
        if (ended) return
        if (busy) { again = true; return }
        busy = true
        try {
          do {
            again = false
            await drain(await deps.jobs.eventsAfter(jobId, cursor))
          } while (again && !ended)
        } catch (error) {
          log.warn({ err: error, jobId }, 'job event stream failed')
          finish()
        } finally { busy = false }
      }
      const recheck = async (fresh: boolean) => {
        if (ended || checking) return
        checking = true
        try {
          if (!await deps.auth.stillValid(principal, 'jobs:read', { fresh })) finish('credential_revoked')
        } catch (error) {
          // A credential that cannot be confirmed is not trusted; the client may resume.
          log.warn({ err: error, jobId }, 'job event stream could not re-check its credential')
          finish()
        } finally { checking = false }
      }

      const unsubscribeJobs = deps.signals.changed.subscribe((changed) => { if (changed === undefined || changed === jobId) void pump() })
      const unsubscribeRevocations = deps.revocations?.subscribe(() => { void recheck(true) })
      const keepAlive = setInterval(() => {
        stream.write(': keep-alive\n\n')
        void recheck(false)
      }, keepAliveMs)
      const poll = setInterval(() => { void pump() }, pollMs)
      // Past the access token's expiry the client must refresh before it resumes; a stream
      // at its maximum life just ends, and EventSource reconnects after RETRY_MS.
      const lifeTimer = setTimeout(() => { finish(endsAt < now + deps.maxLifeMs ? 'token_expired' : undefined) }, endsAt - now)
      // Fastify destroys the stream when the client goes away.
      stream.once('close', () => { finish() })
      stream.write(`retry: ${RETRY_MS}\n\n`)
      busy = true
      drain(first).catch((error: unknown) => {
        log.warn({ err: error, jobId }, 'job event stream failed')
        finish()
      }).finally(() => { busy = false; if (again) void pump() })
      return stream
    }
  }
}

export type JobEventStreams = ReturnType<typeof jobEventStreams>
