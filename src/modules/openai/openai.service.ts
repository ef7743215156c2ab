import type { Transcript } from '../../engines/transcribe/transcript.ts'
import { toJson, toSrt, toText, toVerboseJson, toVtt } from '../../engines/transcribe/transcript-formats.ts'
import { HttpProblem, badRequest } from '../../http/problem.ts'
import type { Principal } from '../../access/permissions.ts'
import type { Job } from '../../db/schema.ts'
import type { FilesService } from '../files/files.service.ts'
import type { ReceivedUpload } from '../files/multipart-upload.ts'
import type { JobsService } from '../jobs/jobs.service.ts'

export const RESPONSE_FORMATS = ['json', 'text', 'srt', 'vtt', 'verbose_json'] as const
export type ResponseFormat = typeof RESPONSE_FORMATS[number]
const ENGINES = ['pocketsphinx', 'whisper'] as const
type EngineName = typeof ENGINES[number]

export interface TranscriptionRequest {
  engine: EngineName
  language?: string
  prompt?: string
  temperature?: number
  responseFormat: ResponseFormat
  words: boolean
  segments: boolean
}

const one = (fields: Map<string, string[]>, name: string): string | undefined => fields.get(name)?.at(-1)

/**
 * Pure: OpenAI's form fields to a request Tympan can run. `whisper-1` means "the default
 * engine"; an engine's own name picks it. Parameters an engine cannot honour (prompt and
 * temperature for pocketsphinx) are accepted and ignored, as documented.
 */
export function parseTranscriptionFields (fields: Map<string, string[]>, defaultEngine: EngineName): TranscriptionRequest {
  const model = one(fields, 'model')
  if (!model) throw badRequest('model is required (whisper-1, pocketsphinx or whisper)', { field: 'model' })
  if (model !== 'whisper-1' && !(ENGINES as readonly string[]).includes(model)) throw badRequest(`model "${model}" does not exist; use whisper-1, pocketsphinx or whisper (GET /v1/models)`, { field: 'model', code: 'model_not_found' })
  const format = one(fields, 'response_format') ?? 'json'
  if (!(RESPONSE_FORMATS as readonly string[]).includes(format)) throw badRequest(`response_format must be one of ${RESPONSE_FORMATS.join(', ')}`, { field: 'response_format' })
  const language = one(fields, 'language')
  if (language !== undefined && !/^[a-z]{2}$/.test(language)) throw badRequest('language must be an ISO-639-1 code such as "en"', { field: 'language' })
  const temperatureText = one(fields, 'temperature')
  const temperature = temperatureText === undefined ? undefined : Number(temperatureText)
  if (temperature !== undefined && (!Number.isFinite(temperature) || temperature < 0 || temperature > 1)) throw badRequest('temperature must be a number from 0 to 1', { field: 'temperature' })
  const granularities = [...(fields.get('timestamp_granularities[]') ?? []), ...(fields.get('timestamp_granularities') ?? [])]
  for (const g of granularities) if (g !== 'word' && g !== 'segment') throw badRequest('timestamp_granularities[] takes word and/or segment', { field: 'timestamp_granularities[]' })
  if (granularities.length > 0 && format !== 'verbose_json') throw badRequest('timestamp_granularities[] needs response_format verbose_json', { field: 'timestamp_granularities[]' })
  const prompt = one(fields, 'prompt')
  return {
    engine: model === 'whisper-1' ? defaultEngine : model as EngineName,
    ...(language ? { language } : {}),
    ...(prompt ? { prompt: prompt.slice(0, 1000) } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    responseFormat: format as ResponseFormat,
    words: granularities.includes('word'),
    segments: granularities.length === 0 || granularities.includes('segment')
  }
}

/** Pure: the transcript in the asked format, as OpenAI answers it. */
export function renderTranscription (transcript: Transcript, request: TranscriptionRequest): { contentType: string, body: string | object } {
  switch (request.responseFormat) {
    case 'text': return { contentType: 'text/plain; charset=utf-8', body: toText(transcript) }
    case 'srt': return { contentType: 'text/plain; charset=utf-8', body: toSrt(transcript) }
    case 'vtt': return { contentType: 'text/plain; charset=utf-8', body: toVtt(transcript) }
    case 'verbose_json': {
      const verbose = toVerboseJson(transcript, { words: request.words })
      return { contentType: 'application/json; charset=utf-8', body: request.segments ? verbose : { ...verbose, segments: undefined } }
    }
    case 'json': return { contentType: 'application/json; charset=utf-8', body: toJson(transcript) }
  }
}

/** The answer to a synchronous request whose job failed or was canceled: the job's own words, with its id. */
export function unsuccessful (job: Job, fallback: string): HttpProblem {
  if (job.status === 'canceled') return new HttpProblem(409, 'Conflict', `Job ${job.id} was canceled`)
  const [status, title] = job.error_code === 'invalid_input' ? [400, 'Bad Request'] : job.error_code === 'missing_engine' ? [503, 'Service Unavailable'] : [500, 'Internal Server Error']
  return new HttpProblem(status, title, job.error ?? fallback, { extra: { jobId: job.id, code: job.error_code } })
}

export interface OpenAiDeps {
  files: FilesService
  jobs: JobsService
  syncTimeoutMs: number
  defaultEngine: EngineName
}

/**
 * The synchronous endpoint runs the same durable job as POST /api/v1/jobs and waits for it;
 * the upload is deleted once the job is over, since OpenAI's API keeps no files.
 */
export function openAiService (deps: OpenAiDeps) {
  return {
    /** The upload's form fields as a request; a refused one leaves nothing of the upload staged. */
    async parse (upload: ReceivedUpload): Promise<TranscriptionRequest> {
      try {
        return parseTranscriptionFields(upload.fields, deps.defaultEngine)
      } catch (error) {
        await deps.files.discard(upload.staged)
        throw error
      }
    },

    async transcribe (principal: Principal, upload: ReceivedUpload, request: TranscriptionRequest, abort: AbortSignal): Promise<{ jobId: string, transcript: Transcript }> {
      const file = await deps.files.accept(principal, upload.staged, { name: upload.name, source: 'upload' })
      let job
      try {
        job = await deps.jobs.create(principal, {
          type: 'transcribe',
          fileId: file.id,
          params: {
            engine: request.engine,
            ...(request.language ? { language: request.language } : {}),
            ...(request.prompt ? { prompt: request.prompt } : {}),
            ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
            wordTimestamps: request.words
          }
        })
      } catch (error) {
        await deps.files.delete(principal, file.id).catch(() => {})
        throw error
      }
      const done = await deps.jobs.waitFor(job.id, deps.syncTimeoutMs, abort)
      if (!done) {
        // The client left: nobody will read the answer. Otherwise the job goes on and keeps its file.
        if (abort.aborted) await deps.jobs.cancelOrDelete(principal, job.id).catch(() => {})
        throw new HttpProblem(504, 'Gateway Timeout', `The transcription did not finish within ${Math.round(deps.syncTimeoutMs / 1000)} s; it goes on as job ${job.id} (GET /api/v1/jobs/${job.id})`, { extra: { jobId: job.id } })
      }
      await deps.files.delete(principal, file.id).catch(() => {})
      if (done.status !== 'succeeded') throw unsuccessful(done, 'The transcription failed')
      return { jobId: job.id, transcript: done.result as Transcript }
    }
  }
}

export type OpenAiService = ReturnType<typeof openAiService>
