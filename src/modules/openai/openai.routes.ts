import multipart from '@fastify/multipart'
import type { FastifyInstance } from 'fastify'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import type { Metrics } from '../../observability/metrics.ts'
import type { EnginesService } from '../engines/engines.service.ts'
import type { FilesService } from '../files/files.service.ts'
import { receiveUpload } from '../files/multipart-upload.ts'
import { openAiErrorHandler } from './openai-errors.ts'
import { renderTranscription, type OpenAiService } from './openai.service.ts'

const tags = ['openai']
// A fixed date: OpenAI's `created` is when a model was published, not when we answered.
const MODELS_CREATED = 1_767_225_600

export interface OpenAiRoutesDeps {
  openai: OpenAiService
  files: FilesService
  engines: EnginesService
  audit: RequestAuditor
  metrics: Pick<Metrics, 'uploadRefused'>
}

/**
 * OpenAI-compatible endpoints for existing clients (`openai` SDKs, tools built on them):
 * same paths, fields, response shapes and error shape. Authentication is an API key as
 * `Authorization: Bearer`, which OpenAI clients send.
 */
export function openAiRoutes (app: FastifyInstance, deps: OpenAiRoutesDeps) {
  app.register(async (scope) => {
    scope.setErrorHandler(openAiErrorHandler)
    await scope.register(multipart, { throwFileSizeLimit: false })

    scope.post('/v1/audio/transcriptions', {
      config: { auth: { permission: 'jobs:write' }, rateLimit: 'uploads' },
      schema: {
        tags,
        summary: 'Transcribe audio (OpenAI-compatible, synchronous)',
        description: 'multipart/form-data: file, model (whisper-1 = the default engine, or pocketsphinx / whisper), language, prompt, response_format (json, text, srt, vtt, verbose_json), temperature, timestamp_granularities[] (word, segment). pocketsphinx ignores prompt and temperature.',
        consumes: ['multipart/form-data']
      }
    }, async (request, reply) => {
      const principal = request.principal!
      const upload = await receiveUpload(request, reply, principal, deps)
      let parsed
      try {
        parsed = deps.openai.parse(upload.fields)
      } catch (error) {
        await deps.files.discard(upload.staged)
        throw error
      }
      const abort = new AbortController()
      reply.raw.once('close', () => { if (!reply.raw.writableFinished) abort.abort() })
      const { jobId, transcript } = await deps.openai.transcribe(principal, upload, parsed, abort.signal)
      await deps.audit(request, 'openai.transcription', 200, { jobId, engine: parsed.engine })
      const rendered = renderTranscription(transcript, parsed)
      return reply.header('content-type', rendered.contentType).header('tympan-job-id', jobId).send(rendered.body)
    })

    scope.get('/v1/models', {
      config: { auth: { permission: 'jobs:read' } },
      schema: { tags, summary: 'The models the OpenAI-compatible endpoints accept' }
    }, async () => {
      const installed = (await deps.engines.list()).filter((e) => e.available && (e.name === 'pocketsphinx' || e.name === 'whisper'))
      const model = (id: string) => ({ id, object: 'model', created: MODELS_CREATED, owned_by: 'tympan' })
      return { object: 'list', data: [model('whisper-1'), ...installed.map((e) => model(e.name))] }
    })
  })
}
