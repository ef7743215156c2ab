import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import { JobSchema } from '../jobs/jobs.schemas.ts'
import type { JobsService } from '../jobs/jobs.service.ts'
import { GenerateBody } from './generate.schemas.ts'

export interface GenerateRoutesDeps {
  jobs: JobsService
  audit: RequestAuditor
}

/** A shortcut for POST /api/v1/jobs {type: "generate", params}: the same job, limits and answer. */
export function generateRoutes (app: FastifyInstance, deps: GenerateRoutesDeps) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>()

  r.post('/api/v1/generate', {
    config: { auth: { permission: 'jobs:write' }, rateLimit: 'uploads' },
    schema: {
      tags: ['generate'],
      summary: 'Compose and render music from a prompt (a generate job)',
      description: 'Procedural, not neural: the prompt\'s genre, mood, tempo, instruments and key words choose the form, chords, bass, drums and melody, with a seeded random generator (same prompt and seed, same MIDI). Answers 202 with the queued job, like POST /api/v1/jobs; its artifacts are music.wav (or music.mp3), music.mid and composition.json.',
      body: GenerateBody,
      response: { 202: JobSchema }
    }
  }, async (request, reply) => {
    const job = await deps.jobs.create(request.principal!, { type: 'generate', params: request.body })
    await deps.audit(request, 'job.created', 202, { jobId: job.id, type: job.type, fileId: null })
    return reply.code(202).header('location', `/api/v1/jobs/${job.id}`).send(job)
  })
}
