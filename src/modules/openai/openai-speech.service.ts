import type { Readable } from 'node:stream'
import type { Principal } from '../../access/permissions.ts'
import { FORMAT_INFO, MAX_SPEED, MIN_SPEED, SPEECH_FORMATS, VoiceError, planSpeech, type SpeechFormat, type Voice } from '../../engines/speak/index.ts'
import { HttpProblem, badRequest } from '../../http/problem.ts'
import type { EnginesService } from '../engines/engines.service.ts'
import type { JobsService } from '../jobs/jobs.service.ts'
import { unsuccessful } from './openai.service.ts'

/** OpenAI's speech models; each means Tympan's default engine, and the voice picks the rest. */
export const SPEECH_MODELS = ['tts-1', 'tts-1-hd', 'gpt-4o-mini-tts', 'gpt-4o-mini-tts-2025-12-15'] as const
/** OpenAI's own limit on `input`, in characters. */
export const SPEECH_INPUT_MAX = 4096
const FIELDS = new Set(['model', 'input', 'voice', 'response_format', 'speed', 'instructions', 'stream_format', 'language'])
const LANGUAGE = /^[a-z]{2,3}(?:-[a-z0-9]{1,8}){0,4}$/i

export interface SpeechBody {
  text: string
  voice: string
  language?: string
  format: SpeechFormat
  speed: number
}

const string = (value: unknown): value is string => typeof value === 'string'

/**
 * Pure: OpenAI's JSON body to a request Tympan can run, refusing what OpenAI refuses with a 400
 * naming the field. `instructions` is accepted and ignored (no engine here takes a style
 * prompt); `language` is Tympan's own addition, since these voices do not guess it.
 */
export function parseSpeechBody (body: unknown): SpeechBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The body must be a JSON object')
  const fields = body as Record<string, unknown>
  const unknown = Object.keys(fields).find((name) => !FIELDS.has(name))
  if (unknown !== undefined) throw badRequest(`Unrecognized request argument supplied: ${unknown.slice(0, 100)}`, { field: unknown.slice(0, 100) })
  const { model, input, voice, response_format: format = 'mp3', speed = 1, instructions, stream_format: stream, language } = fields
  if (!string(model) || model === '') throw badRequest(`model is required (${SPEECH_MODELS.join(', ')})`, { field: 'model' })
  if (!(SPEECH_MODELS as readonly string[]).includes(model)) throw badRequest(`model "${model.slice(0, 100)}" does not exist; use ${SPEECH_MODELS.join(', ')} (GET /v1/models)`, { field: 'model', code: 'model_not_found' })
  if (!string(input)) throw badRequest('input is required: the text to speak', { field: 'input' })
  const characters = [...input].length
  if (characters > SPEECH_INPUT_MAX) throw badRequest(`input is ${characters} characters long; the maximum is ${SPEECH_INPUT_MAX}`, { field: 'input', code: 'string_above_max_length' })
  if (input.trim() === '') throw badRequest('input is empty: give the text to speak', { field: 'input' })
  // The SDK also sends a custom voice as `{id}`: here the id is a Tympan voice id.
  const voiceName = string(voice) ? voice : (typeof voice === 'object' && voice !== null && string((voice as { id?: unknown }).id) ? (voice as { id: string }).id : undefined)
  if (voiceName === undefined || voiceName === '') throw badRequest('voice is required (alloy, ash, ballad, coral, echo, fable, onyx, nova, sage, shimmer, verse, or a Tympan voice id)', { field: 'voice' })
  if (voiceName.length > 64) throw badRequest('voice is too long', { field: 'voice' })
  if (!string(format) || !(SPEECH_FORMATS as readonly string[]).includes(format)) throw badRequest(`response_format must be one of ${SPEECH_FORMATS.join(', ')}`, { field: 'response_format' })
  if (typeof speed !== 'number' || !Number.isFinite(speed) || speed < MIN_SPEED || speed > MAX_SPEED) throw badRequest(`speed must be a number from ${MIN_SPEED} to ${MAX_SPEED}`, { field: 'speed' })
  if (instructions !== undefined && (!string(instructions) || instructions.length > SPEECH_INPUT_MAX)) throw badRequest(`instructions must be a string of at most ${SPEECH_INPUT_MAX} characters`, { field: 'instructions' })
  if (stream !== undefined && stream !== 'audio') throw badRequest('stream_format: only "audio" is supported (the whole file in one response)', { field: 'stream_format' })
  if (language !== undefined && (!string(language) || !LANGUAGE.test(language))) throw badRequest('language must be a language tag such as "en" or "pt-br"', { field: 'language' })
  return { text: input, voice: voiceName, ...(language !== undefined ? { language } : {}), format: format as SpeechFormat, speed }
}

export interface OpenAiSpeechDeps {
  jobs: JobsService
  engines: EnginesService
  syncTimeoutMs: number
}

/**
 * POST /v1/audio/speech: a `speak` job like any other (POST /api/v1/jobs), waited for, and its
 * artifact streamed back as the answer. The job stays readable until retention, as a
 * transcription's does.
 */
export function openAiSpeechService (deps: OpenAiSpeechDeps) {
  /** The voice, language and text judged against the installed voices: a 400 before any job. */
  async function check (request: SpeechBody): Promise<void> {
    const status = await deps.engines.status('speak')
    if (!status?.available || !status.voiceDetails) {
      throw new HttpProblem(503, 'Service Unavailable', status?.detail ?? 'No speech engine is installed', { extra: { code: 'missing_engine' } })
    }
    try {
      planSpeech(status.voiceDetails as Voice[], request)
    } catch (error) {
      if (error instanceof VoiceError) throw badRequest(error.message, { field: error.field === 'text' ? 'input' : error.field })
      throw error
    }
  }

  return {
    async speak (principal: Principal, request: SpeechBody, abort: AbortSignal): Promise<{ jobId: string, voice: string, contentType: string, size: number, stream: Readable }> {
      await check(request)
      const job = await deps.jobs.create(principal, {
        type: 'speak',
        params: { text: request.text, voice: request.voice, ...(request.language ? { language: request.language } : {}), speed: request.speed, format: request.format }
      })
      const done = await deps.jobs.waitFor(job.id, deps.syncTimeoutMs, abort)
      if (!done) {
        if (abort.aborted) await deps.jobs.cancelOrDelete(principal, job.id).catch(() => {})
        throw new HttpProblem(504, 'Gateway Timeout', `The speech did not finish within ${Math.round(deps.syncTimeoutMs / 1000)} s; it goes on as job ${job.id} (GET /api/v1/jobs/${job.id})`, { extra: { jobId: job.id } })
      }
      if (done.status !== 'succeeded') throw unsuccessful(done, 'The speech synthesis failed')
      const { artifact, stream } = await deps.jobs.artifact(principal, job.id, `speech.${FORMAT_INFO[request.format].ext}`)
      const voice = (done.result as { voice?: unknown } | null)?.voice
      return { jobId: job.id, voice: typeof voice === 'string' ? voice : request.voice, contentType: FORMAT_INFO[request.format].contentType, size: Number(artifact.size), stream }
    }
  }
}

export type OpenAiSpeechService = ReturnType<typeof openAiSpeechService>
