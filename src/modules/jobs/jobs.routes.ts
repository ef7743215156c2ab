import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { create as contentDisposition } from 'content-disposition'
import type { FastifyInstance } from 'fastify'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import { badRequest } from '../../http/problem.ts'
import { IdParams } from '../../http/schemas.ts'
import type { JobEventStreams } from './jobs.event-stream.ts'
import { ArtifactParams, CreateJobBody, EventsQuery, JobDeleted, JobPage, JobSchema, JobTypeList, ListJobsQuery, QueueOverviewSchema } from './jobs.schemas.ts'
import type { JobsService } from './jobs.service.ts'
import { jobTypeCatalog } from './jobs.types.ts'

const tags = ['jobs']

export interface JobsRoutesDeps {
  jobs: JobsService
  streams: JobEventStreams
  audit: RequestAuditor
}

export function jobsRoutes (app: FastifyInstance, deps: JobsRoutesDeps) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>()

  r.post('/api/v1/jobs', {
    config: { auth: { permission: 'jobs:write' }, rateLimit: 'uploads' },
    schema: {
      tags,
      summary: 'Queue a job on one of your files',
      description: 'Types: analyze (params: silenceThresholdDb?), transcribe (params: engine?, language?, prompt?, temperature?, wordTimestamps?, quality?: fast|accurate), generate (no fileId; params: prompt, durationSec, seed?, tempo?, key?, format?). Answers 202 at once; follow the job with GET /api/v1/jobs/:id or its events stream.',
      body: CreateJobBody,
      response: { 202: JobSchema }
    }
  }, async (request, reply) => {
    const job = await deps.jobs.create(request.principal!, request.body)
    await deps.audit(request, 'job.created', 202, { jobId: job.id, type: job.type, fileId: job.fileId })
    return reply.code(202).header('location', `/api/v1/jobs/${job.id}`).send(job)
  })

  r.get('/api/v1/jobs', {
    config: { auth: { permission: 'jobs:read' } },
    schema: {
      tags,
      summary: 'Your jobs, newest first',
      querystring: ListJobsQuery,
      response: { 200: JobPage }
    }
  }, async (request) => {
    const { status, type, fileId, limit, cursor } = request.query
    return deps.jobs.list(request.principal!, limit ?? 50, { ...(status ? { status } : {}), ...(type ? { type } : {}), ...(fileId ? { fileId } : {}) }, cursor)
  })

  r.get('/api/v1/jobs/:id', {
    config: { auth: { permission: 'jobs:read' } },
    schema: { tags, summary: 'One job, with its result and artifacts once finished', params: IdParams, response: { 200: JobSchema } }
  }, async (request) => deps.jobs.get(request.principal!, request.params.id))

  r.get('/api/v1/jobs/:id/events', {
    config: { auth: { permission: 'jobs:read' } },
    schema: {
      tags,
      summary: 'Server-Sent Events: status and progress as they happen, then done',
      description: 'Events: `status` {status, attempt?, error?}, `progress` {progress, stage}, `partial` {segment} (a recognised segment, final, in order), each with an id; then `done` with the whole job, and the stream ends. A stream also ends after EVENT_STREAM_MAX_SECONDS or when its access token expires (reconnect with Last-Event-ID to resume; nothing is lost or repeated), and with a last `error` event {reason} when its credential is revoked. Open streams are capped per user and per client address (429 beyond).',
      params: IdParams,
      querystring: EventsQuery,
      produces: ['text/event-stream']
    }
  }, async (request, reply) => {
    const header = request.headers['last-event-id']
    const fromHeader = typeof header === 'string' && header !== '' ? Number(header) : undefined
    if (fromHeader !== undefined && (!Number.isSafeInteger(fromHeader) || fromHeader < 0)) throw badRequest('Last-Event-ID must be a non-negative integer')
    const stream = await deps.streams.open({
      principal: request.principal!, ip: request.ip, jobId: request.params.id, afterId: fromHeader ?? request.query.lastEventId ?? 0, log: request.log
    })
    return reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-store')
      // nginx would otherwise buffer the stream and deliver progress in lumps.
      .header('x-accel-buffering', 'no')
      .send(stream)
  })

  r.get('/api/v1/jobs/:id/artifacts/:name', {
    config: { auth: { permission: 'jobs:read' } },
    schema: { tags, summary: 'Download one artifact of a finished job (transcript.srt, waveform.png, …)', params: ArtifactParams }
  }, async (request, reply) => {
    const { artifact, stream } = await deps.jobs.artifact(request.principal!, request.params.id, request.params.name)
    return reply
      .header('content-type', artifact.content_type)
      .header('content-length', String(artifact.size))
      .header('content-disposition', contentDisposition(artifact.name, { type: 'attachment' }))
      .header('cache-control', 'private')
      .send(stream)
  })

  r.delete('/api/v1/jobs/:id', {
    config: { auth: { permission: 'jobs:write' } },
    schema: {
      tags,
      summary: 'Cancel a queued or running job (200, the job) or delete a finished one with its artifacts (204)',
      params: IdParams,
      response: { 200: JobSchema, 204: JobDeleted }
    }
  }, async (request, reply) => {
    const outcome = await deps.jobs.cancelOrDelete(request.principal!, request.params.id)
    if ('canceled' in outcome) {
      await deps.audit(request, 'job.canceled', 200, { jobId: request.params.id })
      return reply.code(200).send(outcome.canceled)
    }
    await deps.audit(request, 'job.deleted', 204, { jobId: request.params.id })
    return reply.code(204).send(null)
  })

  r.get('/api/v1/job-types', {
    config: { auth: { permission: 'jobs:read' } },
    schema: { tags, summary: 'The job types this server runs: name, summary, input and the JSON Schema of their params', response: { 200: JobTypeList } }
  }, async () => ({ items: jobTypeCatalog() }))

  r.get('/api/v1/admin/jobs/overview', {
    config: { auth: { permission: 'admin' } },
    schema: { tags: ['admin'], summary: 'The queue: jobs of every owner counted by type and status, and how long the oldest queued one waits', response: { 200: QueueOverviewSchema } }
  }, async () => deps.jobs.overview())
}
