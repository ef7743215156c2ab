import type { Readable } from 'node:stream'
import type { Job } from '../../db/schema.ts'
import { TRANSCRIBE_QUALITIES, isTranscribeQuality, type TranscribeQuality, type Transcript, type TranscriptSegment } from '../../engines/transcribe/transcript.ts'
import { toJson, toSrt, toText, toVerboseJson, toVtt } from '../../engines/transcribe/transcript-formats.ts'
import { HttpProblem, badRequest } from '../../http/problem.ts'
import type { Principal } from '../../access/permissions.ts'
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
  /** Tympan's own field (OpenAI has none): pocketsphinx's search; absent, the job's default. */
  quality?: TranscribeQuality
  responseFormat: ResponseFormat
  words: boolean
  segments: boolean
  /** Server-sent events of the text as it is recognised (json and text only, as OpenAI). */
  stream: boolean
}

/** OpenAI's TranscriptionStreamEvent (openai/resources/audio/transcriptions), plus the error its client throws on. */
export type TranscriptionStreamEvent =
  | { type: 'transcript.text.delta', delta: string }
  | { type: 'transcript.text.done', text: string }
  | { type: 'error', error: { message: string, type: string, code: string | null } }

const STREAMABLE: readonly ResponseFormat[] = ['json', 'text']

/** A job's own artifact, read whole (translation.json: the text of the audio, a few hundred kB at most). */
async function readAll (stream: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
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
  const streamText = one(fields, 'stream') ?? 'false'
  if (streamText !== 'true' && streamText !== 'false') throw badRequest('stream must be true or false', { field: 'stream' })
  const stream = streamText === 'true'
  if (stream && !STREAMABLE.includes(format as ResponseFormat)) throw badRequest(`stream is not supported with response_format ${format}: use json or text`, { field: 'stream' })
  const quality = one(fields, 'quality')
  if (quality !== undefined && !isTranscribeQuality(quality)) throw badRequest(`quality must be one of ${TRANSCRIBE_QUALITIES.join(', ')} (Tympan's own field, for pocketsphinx)`, { field: 'quality' })
  const prompt = one(fields, 'prompt')
  return {
    engine: model === 'whisper-1' ? defaultEngine : model as EngineName,
    ...(language ? { language } : {}),
    ...(prompt ? { prompt: prompt.slice(0, 1000) } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(quality !== undefined ? { quality } : {}),
    responseFormat: format as ResponseFormat,
    words: granularities.includes('word'),
    segments: granularities.length === 0 || granularities.includes('segment'),
    stream
  }
}

export type TranslationRequest = Omit<TranscriptionRequest, 'stream'>

/**
 * Pure: the fields of /v1/audio/translations, OpenAI's transcription fields without the
 * stream. `language` is Tympan's own: the language spoken (OpenAI detects it; with no field,
 * English, the language of the packaged recogniser).
 */
export function parseTranslationFields (fields: Map<string, string[]>, defaultEngine: EngineName): TranslationRequest {
  if (one(fields, 'stream') === 'true') throw badRequest('stream is not supported for translations', { field: 'stream' })
  const { stream: _stream, ...request } = parseTranscriptionFields(fields, defaultEngine)
  return request
}

/** Pure: an English transcript as OpenAI answers a translation (its verbose_json says `translate`). */
export function renderTranslation (transcript: Transcript, request: TranslationRequest): { contentType: string, body: string | object } {
  const rendered = renderTranscription(transcript, { ...request, stream: false })
  return request.responseFormat === 'verbose_json' ? { ...rendered, body: { ...rendered.body as object, task: 'translate' } } : rendered
}

/** The translation.json artifact of a translate job (engines/translate-speech). */
interface TranslationFile {
  duration: number
  text: string
  segments: Array<{ id: number, start: number, end: number, text: string }>
}

/** Pure: a translate job's English text as a transcript, timed by the source's segments. */
export function translationTranscript (file: TranslationFile, engine: Transcript['engine']): Transcript {
  const kept = file.segments.filter((s) => s.text !== '')
  return { text: file.text, segments: kept.map((s, id) => ({ id, start: s.start, end: s.end, text: s.text, words: [] })), language: 'en', duration: file.duration, engine }
}

/** Pure: a segment's text as a delta; the deltas joined make the transcript's text (segments joined by spaces). */
export const segmentDelta = (segment: { id: number, text: string }): string => (segment.id === 0 ? segment.text : ` ${segment.text}`)

const unfinished = (jobId: string, timeoutMs: number) =>
  new HttpProblem(504, 'Gateway Timeout', `The transcription did not finish within ${Math.round(timeoutMs / 1000)} s; it goes on as job ${jobId} (GET /api/v1/jobs/${jobId})`, { extra: { jobId } })

/** Pure: a problem as the error event of a stream, which OpenAI's client throws as an APIError. */
function errorEvent (problem: HttpProblem): TranscriptionStreamEvent {
  const code = problem.extra.code
  return { type: 'error', error: { message: problem.message, type: problem.status >= 500 ? 'server_error' : 'invalid_request_error', code: typeof code === 'string' ? code : null } }
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
  /** The upload becomes a file and a job on it; a refused job leaves no file. */
  async function startJob (principal: Principal, upload: ReceivedUpload, type: string, params: Record<string, unknown>) {
    const file = await deps.files.accept(principal, upload.staged, { name: upload.name, source: 'upload' })
    try {
      return { file, job: await deps.jobs.create(principal, { type, fileId: file.id, params }) }
    } catch (error) {
      await deps.files.delete(principal, file.id).catch(() => {})
      throw error
    }
  }

  const transcribeParams = (request: TranslationRequest) => ({
    engine: request.engine,
    ...(request.language ? { language: request.language } : {}),
    ...(request.prompt ? { prompt: request.prompt } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.quality ? { quality: request.quality } : {}),
    wordTimestamps: request.words
  })
  const start = (principal: Principal, upload: ReceivedUpload, request: TranslationRequest) => startJob(principal, upload, 'transcribe', transcribeParams(request))

  /** Waits for the job as the synchronous endpoints do; the succeeded job, or the problem to answer. */
  async function finished (principal: Principal, jobId: string, fileId: string, abort: AbortSignal): Promise<Job> {
    const done = await deps.jobs.waitFor(jobId, deps.syncTimeoutMs, abort)
    if (!done) {
      // The client left: nobody will read the answer. Otherwise the job goes on and keeps its file.
      if (abort.aborted) await deps.jobs.cancelOrDelete(principal, jobId).catch(() => {})
      throw unfinished(jobId, deps.syncTimeoutMs)
    }
    await deps.files.delete(principal, fileId).catch(() => {})
    if (done.status !== 'succeeded') throw unsuccessful(done, 'The job failed')
    return done
  }

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
      const { file, job } = await start(principal, upload, request)
      const done = await finished(principal, job.id, file.id, abort)
      return { jobId: job.id, transcript: done.result as Transcript }
    },

    /** The upload's form fields as a translation request; a refused one leaves nothing staged. */
    async parseTranslation (upload: ReceivedUpload): Promise<TranslationRequest> {
      try {
        return parseTranslationFields(upload.fields, deps.defaultEngine)
      } catch (error) {
        await deps.files.discard(upload.staged)
        throw error
      }
    },

    /**
     * Speech in any language with an installed recogniser, as English text. English speech is
     * a transcription; any other language a `translate` job (its recogniser, then the text
     * translator into English), whose create-time checks refuse a language without a
     * recogniser or without a route into English.
     */
    async translate (principal: Principal, upload: ReceivedUpload, request: TranslationRequest, abort: AbortSignal): Promise<{ jobId: string, transcript: Transcript }> {
      const source = request.language ?? 'en'
      if (source === 'en') {
        const { file, job } = await start(principal, upload, request)
        const done = await finished(principal, job.id, file.id, abort)
        return { jobId: job.id, transcript: done.result as Transcript }
      }
      const { file, job } = await startJob(principal, upload, 'translate', { source_lang: source, target_lang: 'en', engine: request.engine, ...(request.quality ? { quality: request.quality } : {}) }).catch((error: unknown) => {
        // The job's language fields are this endpoint's `language` (the target is always English).
        if (error instanceof HttpProblem && (error.extra.field === 'params.source_lang' || error.extra.field === 'params.target_lang')) {
          throw new HttpProblem(error.status, error.title, error.message.replace(/^params\.(source|target)_lang/, 'language'), { extra: { ...error.extra, field: 'language' }, headers: error.headers })
        }
        throw error
      })
      const done = await finished(principal, job.id, file.id, abort)
      const { stream } = await deps.jobs.artifact(principal, job.id, 'translation.json')
      const translation = JSON.parse(await readAll(stream)) as TranslationFile
      return { jobId: job.id, transcript: translationTranscript(translation, (done.result as { engine: Transcript['engine'] }).engine) }
    },

    /**
     * The same job, answered as OpenAI's stream: a delta per recognised segment as the job's
     * `partial` events bring it (so a worker in another process streams too), then the whole
     * text. The job is created before anything is sent, so a refusal is still a plain error
     * answer. A client that goes away cancels the job; one that stays past the synchronous
     * limit gets an error event naming the job, which goes on.
     */
    async transcribeStream (principal: Principal, upload: ReceivedUpload, request: TranscriptionRequest, abort: AbortSignal): Promise<{ jobId: string, events: AsyncGenerator<TranscriptionStreamEvent> }> {
      const { file, job } = await start(principal, upload, request)
      async function * events (): AsyncGenerator<TranscriptionStreamEvent> {
        let sent = 0
        let finished = false
        const follow = deps.jobs.follow(job.id, deps.syncTimeoutMs, abort)
        try {
          for (;;) {
            const next = await follow.next()
            if (next.done) {
              const done = next.value
              finished = done !== undefined
              if (!done) {
                if (!abort.aborted) yield errorEvent(unfinished(job.id, deps.syncTimeoutMs))
                return
              }
              if (done.status !== 'succeeded') { yield errorEvent(unsuccessful(done, 'The transcription failed')); return }
              const transcript = done.result as Transcript
              // Segments the stream missed (an attempt that was retried, a dropped partial) come last.
              for (const segment of transcript.segments.slice(sent)) yield { type: 'transcript.text.delta', delta: segmentDelta(segment) }
              yield { type: 'transcript.text.done', text: transcript.text }
              return
            }
            const segment = next.value.kind === 'partial' ? next.value.data.segment as TranscriptSegment | undefined : undefined
            // A retried attempt reports its segments again from the first: each is sent once.
            if (segment?.id === sent) {
              sent += 1
              yield { type: 'transcript.text.delta', delta: segmentDelta(segment) }
            }
          }
        } finally {
          await follow.return(undefined)
          if (!finished && abort.aborted) await deps.jobs.cancelOrDelete(principal, job.id).catch(() => {})
          if (finished || abort.aborted) await deps.files.delete(principal, file.id).catch(() => {})
        }
      }
      return { jobId: job.id, events: events() }
    }
  }
}

export type OpenAiService = ReturnType<typeof openAiService>
