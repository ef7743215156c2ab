import multipart from '@fastify/multipart'
import type { FastifyInstance } from 'fastify'
import type { RequestAuditor } from '../../audit/request-audit.ts'
import type { EnginesService } from '../engines/engines.service.ts'
import { receiveUpload, type UploadDeps } from '../files/multipart-upload.ts'
import { openAiErrorHandler } from './openai-errors.ts'
import { renderTranscription, renderTranslation, type OpenAiService } from './openai.service.ts'
import { serverSentEvents } from './openai.stream.ts'
import { SPEECH_MODELS, parseSpeechBody, type OpenAiSpeechService } from './openai-speech.service.ts'

const tags = ['openai']
// A fixed date: OpenAI's `created` is when a model was published, not when we answered.
const MODELS_CREATED = 1_767_225_600

export interface OpenAiRoutesDeps {
  openai: OpenAiService
  speech: OpenAiSpeechService
  uploads: UploadDeps
  engines: EnginesService
  audit: RequestAuditor
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
        description: 'multipart/form-data: file, model (whisper-1 = the default engine, or pocketsphinx / whisper), language, prompt, response_format (json, text, srt, vtt, verbose_json), temperature, timestamp_granularities[] (word, segment), stream (true: server-sent events, `transcript.text.delta` per recognised segment then `transcript.text.done`; json and text only), and Tympan\'s own quality (fast or accurate: the search of pocketsphinx; default fast). pocketsphinx ignores prompt and temperature.',
        consumes: ['multipart/form-data']
      }
    }, async (request, reply) => {
      const principal = request.principal!
      const upload = await receiveUpload(request, reply, principal, deps.uploads)
      const parsed = await deps.openai.parse(upload)
      const abort = new AbortController()
      reply.raw.once('close', () => { if (!reply.raw.writableFinished) abort.abort() })
      if (parsed.stream) {
        const { jobId, events } = await deps.openai.transcribeStream(principal, upload, parsed, abort.signal)
        await deps.audit(request, 'openai.transcription', 200, { jobId, engine: parsed.engine, stream: true })
        return reply
          .header('content-type', 'text/event-stream; charset=utf-8')
          .header('cache-control', 'no-store')
          .header('x-accel-buffering', 'no')
          .header('tympan-job-id', jobId)
          .send(serverSentEvents(events, { log: request.log }))
      }
      const { jobId, transcript } = await deps.openai.transcribe(principal, upload, parsed, abort.signal)
      await deps.audit(request, 'openai.transcription', 200, { jobId, engine: parsed.engine })
      const rendered = renderTranscription(transcript, parsed)
      return reply.header('content-type', rendered.contentType).header('tympan-job-id', jobId).send(rendered.body)
    })

    scope.post('/v1/audio/translations', {
      config: { auth: { permission: 'jobs:write' }, rateLimit: 'uploads' },
      schema: {
        tags,
        summary: 'Translate speech into English text (OpenAI-compatible, synchronous)',
        description: 'multipart/form-data: file, model (whisper-1 = the default engine, or pocketsphinx / whisper), prompt, response_format (json, text, srt, vtt, verbose_json), temperature, and Tympan\'s own quality (fast or accurate, for pocketsphinx) and language: the ISO 639-1 code of the speech (OpenAI detects it; default en). English speech is transcribed; any other language needs an installed recogniser for it and a translation route into English (422 otherwise).',
        consumes: ['multipart/form-data']
      }
    }, async (request, reply) => {
      const principal = request.principal!
      const upload = await receiveUpload(request, reply, principal, deps.uploads)
      const parsed = await deps.openai.parseTranslation(upload)
      const abort = new AbortController()
      reply.raw.once('close', () => { if (!reply.raw.writableFinished) abort.abort() })
      const { jobId, transcript } = await deps.openai.translate(principal, upload, parsed, abort.signal)
      await deps.audit(request, 'openai.translation', 200, { jobId, engine: parsed.engine, language: parsed.language ?? 'en' })
      const rendered = renderTranslation(transcript, parsed)
      return reply.header('content-type', rendered.contentType).header('tympan-job-id', jobId).send(rendered.body)
    })

    scope.post('/v1/audio/speech', {
      config: { auth: { permission: 'jobs:write' }, rateLimit: 'uploads' },
      schema: {
        tags,
        summary: 'Text to speech (OpenAI-compatible, synchronous)',
        description: 'JSON: model (tts-1, tts-1-hd, gpt-4o-mini-tts: all the default engine), input (at most 4096 characters, read as plain text), voice (an OpenAI name or a Tympan voice id from GET /api/v1/engines), response_format (mp3, opus, aac, flac, wav, pcm; default mp3), speed (0.25–4), instructions (accepted, ignored), language (Tympan\'s addition: a language tag). Answers the audio bytes.'
      }
    }, async (request, reply) => {
      const principal = request.principal!
      // Checked here rather than by a schema: OpenAI answers a bad field with 400, not 422.
      const parsed = parseSpeechBody(request.body)
      const abort = new AbortController()
      reply.raw.once('close', () => { if (!reply.raw.writableFinished) abort.abort() })
      const spoken = await deps.speech.speak(principal, parsed, abort.signal)
      await deps.audit(request, 'openai.speech', 200, { jobId: spoken.jobId, voice: spoken.voice, characters: parsed.text.length })
      return reply.header('content-type', spoken.contentType).header('content-length', spoken.size).header('tympan-job-id', spoken.jobId).header('tympan-voice', spoken.voice).send(spoken.stream)
    })

    scope.get('/v1/models', {
      config: { auth: { permission: 'jobs:read' } },
      schema: { tags, summary: 'The models the OpenAI-compatible endpoints accept' }
    }, async () => {
      const engines = await deps.engines.list()
      const installed = engines.filter((e) => e.available && (e.name === 'pocketsphinx' || e.name === 'whisper'))
      const speaks = engines.some((e) => e.available && e.name === 'speak')
      const model = (id: string) => ({ id, object: 'model', created: MODELS_CREATED, owned_by: 'tympan' })
      return { object: 'list', data: [model('whisper-1'), ...installed.map((e) => model(e.name)), ...(speaks ? SPEECH_MODELS.map(model) : [])] }
    })
  })
}
