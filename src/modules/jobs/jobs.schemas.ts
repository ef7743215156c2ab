import Type from 'typebox'
import { Cursor, DateTime, Limit, NullableDateTime, Uuid } from '../../http/schemas.ts'
import { JOB_TYPE_NAMES } from './jobs.types.ts'

export const JobStatusSchema = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('canceled')])

export const JobSchema = Type.Object({
  id: Uuid,
  type: Type.String(),
  status: JobStatusSchema,
  progress: Type.Number({ minimum: 0, maximum: 1 }),
  stage: Type.String(),
  fileId: Type.Union([Uuid, Type.Null()]),
  params: Type.Record(Type.String(), Type.Unknown()),
  result: Type.Unknown({ description: 'The type\'s result once succeeded, else null' }),
  artifacts: Type.Array(Type.Object({ name: Type.String(), contentType: Type.String(), size: Type.Integer() })),
  error: Type.Union([Type.String(), Type.Null()], { description: 'Why it failed, in words for people' }),
  errorCode: Type.Union([Type.Literal('invalid_input'), Type.Literal('missing_engine'), Type.Literal('engine_failed'), Type.Literal('timeout'), Type.Literal('worker_lost'), Type.Null()], { description: 'Why it failed, for programs: invalid_input and missing_engine are never retried' }),
  attempts: Type.Integer(),
  createdAt: DateTime,
  startedAt: NullableDateTime,
  finishedAt: NullableDateTime
})

export const JobPage = Type.Object({ items: Type.Array(JobSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) })

export const JobDeleted = Type.Null({ description: 'Deleted' })

export const CreateJobBody = Type.Object({
  type: Type.String({ maxLength: 40, description: `One of: ${JOB_TYPE_NAMES.join(', ')}` }),
  fileId: Type.Optional(Type.String({ format: 'uuid', description: 'The input file, for types that work on one (analyze, transcribe, …); omitted by types that make audio from params alone' })),
  params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Checked against the type\'s own schema (see the job types in the docs)' }))
}, { additionalProperties: false })

export const ListJobsQuery = Type.Object({
  status: Type.Optional(JobStatusSchema),
  type: Type.Optional(Type.String({ maxLength: 40 })),
  fileId: Type.Optional(Type.String({ format: 'uuid', description: 'Only the jobs of this input file (yours: another owner\'s file lists nothing)' })),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor)
}, { additionalProperties: false })

export const ArtifactParams = Type.Object({
  id: Uuid,
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,99}$' })
}, { additionalProperties: false })

export const EventsQuery = Type.Object({
  lastEventId: Type.Optional(Type.Integer({ minimum: 0, description: 'For clients that cannot send the Last-Event-ID header' }))
}, { additionalProperties: false })

export const QueueOverviewSchema = Type.Object({
  types: Type.Array(Type.Object({
    type: Type.String(),
    counts: Type.Object({ queued: Type.Integer(), running: Type.Integer(), succeeded: Type.Integer(), failed: Type.Integer(), canceled: Type.Integer() }),
    oldestQueuedAt: Type.Union([DateTime, Type.Null()], { description: 'When the longest-waiting queued job of this type was created' })
  }))
})

export const JobTypeList = Type.Object({
  items: Type.Array(Type.Object({
    name: Type.String(),
    summary: Type.String(),
    input: Type.Union([Type.Literal('file'), Type.Literal('none')], { description: 'file: POST /api/v1/jobs needs fileId; none: the job makes its output from params alone' }),
    params: Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema of the type\'s params' })
  }))
})
