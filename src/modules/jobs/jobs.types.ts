import { Ajv } from 'ajv'
import Type, { type Static, type TSchema } from 'typebox'
import { GENERATE_LIMITS as G } from '../../engines/generate/index.ts'
import { unprocessable } from '../../http/problem.ts'
import { MAX_SPEED, MIN_SPEED, SPEECH_FORMATS } from '../../engines/speak/index.ts'
import { DEFAULT_QUALITY, TRANSCRIBE_QUALITIES } from '../../engines/transcribe/index.ts'

/**
 * The one registry of job types: each type's params schema, its time budget and whether it
 * works on a file (`input: 'file'`) or makes something from its params alone (`'none'`). Handlers live in jobs.handlers.ts, keyed by the same union, and the worker
 * refuses to start when a type here has no handler there.
 */
const quality = (options: { default?: typeof DEFAULT_QUALITY, description: string }) => Type.Optional(Type.Union(TRANSCRIBE_QUALITIES.map((q) => Type.Literal(q)), options))
const QUALITY_TEXT = 'pocketsphinx\'s search: fast (about 15% less CPU) or accurate (a few errors fewer); whisper ignores it. docs/performance.md has the measurements'

export const TranscribeParams = Type.Object({
  engine: Type.Optional(Type.Union([Type.Literal('pocketsphinx'), Type.Literal('whisper')], { description: 'Defaults to TRANSCRIBE_ENGINE' })),
  language: Type.Optional(Type.String({ pattern: '^[a-z]{2}$', description: 'ISO 639-1; GET /api/v1/engines lists the installed ones' })),
  prompt: Type.Optional(Type.String({ maxLength: 1000, description: 'Context for engines that take it (whisper); pocketsphinx ignores it' })),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  wordTimestamps: Type.Optional(Type.Boolean({ default: true })),
  quality: quality({ default: DEFAULT_QUALITY, description: QUALITY_TEXT })
}, { additionalProperties: false })

export const AnalyzeParams = Type.Object({
  silenceThresholdDb: Type.Optional(Type.Number({ minimum: -120, maximum: 0, description: 'Frames below this level count as silence (default -50 dBFS)' }))
}, { additionalProperties: false })

export const SeparateParams = Type.Object({
  stems: Type.Optional(Type.Union([Type.Literal(2), Type.Literal(4)], { default: 4, description: '2: vocals, accompaniment; 4: vocals, drums, bass, other' })),
  format: Type.Optional(Type.Union([Type.Literal('wav'), Type.Literal('flac'), Type.Literal('mp3')], { default: 'wav', description: 'Stem files: 16-bit WAV or FLAC, or MP3 at 192 kb/s' }))
}, { additionalProperties: false })

export const GenerateParams = Type.Object({
  prompt: Type.String({ minLength: 1, maxLength: G.promptMaxChars, pattern: G.printablePattern, description: 'Genre, mood, tempo ("80 bpm"), instruments and key ("in A minor") in words; control characters are ignored' }),
  durationSec: Type.Number({ minimum: G.durationMinSec, maximum: G.durationMaxSec }),
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: G.seedMax, description: 'Another piece from the same words; defaults to a hash of the prompt' })),
  tempo: Type.Optional(Type.Number({ minimum: G.tempoMin, maximum: G.tempoMax, description: 'BPM; overrides the prompt' })),
  key: Type.Optional(Type.String({ maxLength: 12, pattern: G.keyPattern, description: '"A minor", "F#m", "Bb major"; overrides the prompt' })),
  format: Type.Optional(Type.Union([Type.Literal('wav'), Type.Literal('mp3')], { default: 'wav' }))
}, { additionalProperties: false })

/** The longest text of one `speak` job: about 20 minutes of speech. */
export const SPEAK_MAX_CHARS = 20_000

export const SpeakParams = Type.Object({
  text: Type.String({ minLength: 1, maxLength: SPEAK_MAX_CHARS, description: 'The text to speak, read as plain text (markup is spoken as written)' }),
  voice: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9:+._-]{0,63}$', description: 'An OpenAI voice name (alloy, nova, …) or a Tympan voice id (festival:slt-hts, flite:rms, espeak:es); GET /api/v1/engines lists them' })),
  language: Type.Optional(Type.String({ pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}$', description: 'A language tag (en, es, pt-br); default en, or the voice\'s own' })),
  speed: Type.Optional(Type.Number({ minimum: MIN_SPEED, maximum: MAX_SPEED, description: '1 is the voice\'s own pace' })),
  format: Type.Optional(Type.Union(SPEECH_FORMATS.map((f) => Type.Literal(f)), { description: 'Default mp3; pcm is raw 16-bit little-endian 24 kHz mono' }))
}, { additionalProperties: false })

const LanguageCode = (description: string) => Type.String({ pattern: '^[a-z]{2,5}$', description: `${description}: an ISO 639-1 or 639-3 code (en, eng); GET /api/v1/translate/languages lists the routes` })

export const TranslateParams = Type.Object({
  target_lang: LanguageCode('The language to translate into'),
  source_lang: Type.Optional(LanguageCode('The language spoken, which needs an installed recogniser; default en')),
  speak: Type.Optional(Type.Boolean({ default: false, description: 'Also synthesise the translation into speech.wav, each segment where its source speech starts' })),
  voice: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9:+._-]{0,63}$', description: 'With speak: an OpenAI voice name (alloy, nova, …) or a Tympan voice id (espeak:es); GET /api/v1/engines lists them. Default: the best voice of the target language' })),
  max_speed: Type.Optional(Type.Number({ minimum: 1, maximum: 4, description: 'The fastest a clip may play to end before the next segment starts (default 2)' })),
  engine: Type.Optional(Type.Union([Type.Literal('pocketsphinx'), Type.Literal('whisper')], { description: 'The recogniser; defaults to TRANSCRIBE_ENGINE' })),
  quality: quality({ description: `The recogniser's search, default ${DEFAULT_QUALITY}: ${QUALITY_TEXT}` })
}, { additionalProperties: false })

interface JobTypeSpec<S extends TSchema> {
  params: S
  summary: string
  /** `file`: the job needs `fileId` and its handler gets the audio; `none`: it takes none. */
  input: 'file' | 'none'
  /** The whole budget for one attempt, from the input's duration (0 without one) and the params. */
  timeoutSec: (durationSec: number, params: Static<S>) => number
  /** Valid params as they are stored and run: what the engine will use is what the job shows. */
  normalise?: (params: Static<S>) => Static<S>
}

const spec = <S extends TSchema>(s: JobTypeSpec<S>) => s

export const JOB_TYPES = {
  analyze: spec({
    params: AnalyzeParams,
    summary: 'Format, loudness (EBU R128), levels, silence, tempo, key; waveform and spectrogram images',
    input: 'file',
    timeoutSec: (duration) => Math.ceil(120 + duration)
  }),
  transcribe: spec({
    params: TranscribeParams,
    summary: 'Speech to text with word timings; txt, srt, vtt, json and verbose_json artifacts',
    input: 'file',
    timeoutSec: (duration) => Math.ceil(300 + 3 * duration)
  }),
  separate: spec({
    params: SeparateParams,
    summary: 'Stem separation (signal processing): vocals and accompaniment, or vocals, drums, bass and other; one audio file per stem and summary.json',
    input: 'file',
    timeoutSec: (duration) => Math.ceil(300 + 2 * duration)
  }),
  generate: spec({
    params: GenerateParams,
    summary: 'Procedural music from a prompt: music.wav or music.mp3, music.mid and composition.json',
    input: 'none',
    // A large SoundFont takes seconds of CPU to load before FluidSynth renders faster than real time.
    timeoutSec: (_duration, params) => Math.ceil(120 + 2 * params.durationSec),
    // Control characters go before the prompt is stored (PostgreSQL's jsonb cannot hold \u0000).
    normalise: (params) => ({ ...params, prompt: G.normalisePrompt(params.prompt) })
  }),
  speak: spec({
    params: SpeakParams,
    summary: 'Text to speech (festival, flite, espeak-ng); artifact speech.<format>',
    input: 'none',
    // About 15 characters are a second of speech, made at 0.2 × real time by the slowest
    // voice; a slower speed makes longer audio in proportion.
    timeoutSec: (_duration, params) => Math.ceil(120 + (params.text.length * 0.1) / Math.min(1, params.speed ?? 1))
  }),
  translate: spec({
    params: TranslateParams,
    summary: 'Speech to text in another language: the transcript, its translation as txt, srt and vtt on the source timings, and with speak the translated speech',
    input: 'file',
    // Recognition as for transcribe; synthesis runs at about the same pace on the packaged voices.
    timeoutSec: (duration, params) => Math.ceil(300 + (params.speak === true ? 6 : 3) * duration)
  })
}

export type JobType = keyof typeof JOB_TYPES
export type JobParams = { [T in JobType]: Static<typeof JOB_TYPES[T]['params']> }
export const JOB_TYPE_NAMES = Object.keys(JOB_TYPES) as JobType[]

export function isJobType (value: string): value is JobType {
  return Object.hasOwn(JOB_TYPES, value)
}

/** The attempt budget of a job of `type` (params already parsed). */
export function jobTimeoutSec (type: JobType, durationSec: number, params: Record<string, unknown>): number {
  return (JOB_TYPES[type].timeoutSec as (d: number, p: Record<string, unknown>) => number)(durationSec, params)
}

const ajv = new Ajv({ coerceTypes: false, useDefaults: true, allErrors: false, strict: false })
const validators = Object.fromEntries(JOB_TYPE_NAMES.map((type) => [type, ajv.compile(JOB_TYPES[type].params)]))

/** Checks params against the type's schema; a 422 names the offending field (`params.language`). */
export function parseParams<T extends JobType> (type: T, params: unknown): JobParams[T] {
  const copy = structuredClone(params ?? {})
  const validate = validators[type]!
  if (!validate(copy)) {
    const error = validate.errors?.[0]
    const missing = error?.keyword === 'required' ? `/${String(error.params.missingProperty)}` : ''
    const extra = error?.keyword === 'additionalProperties' ? `/${String(error.params.additionalProperty)}` : ''
    const field = `params${(error?.instancePath ?? '') + missing + extra}`.replaceAll('/', '.')
    const message = error?.keyword === 'additionalProperties' ? 'is not a parameter of this job type' : error?.keyword === 'const' ? `must be one of: ${choices(validate.errors ?? [], error.instancePath).join(', ')}` : (error?.message ?? 'is invalid')
    throw unprocessable(`${field} ${message}`, { field })
  }
  const normalise = (JOB_TYPES[type] as { normalise?: (p: unknown) => unknown }).normalise
  const parsed = normalise ? normalise(copy) : copy
  const nul = nulField(parsed, 'params')
  // PostgreSQL's jsonb cannot store U+0000: refused here, it would be a 500 at the insert.
  if (nul) throw unprocessable(`${nul} must not contain NUL characters (U+0000)`, { field: nul })
  return parsed as JobParams[T]
}

/** The literals a union allows at `path`: Ajv reports each branch's `const` apart ("must be equal to constant"). */
function choices (errors: Array<{ keyword: string, instancePath: string, params: Record<string, unknown> }>, path: string): string[] {
  return errors.filter((e) => e.keyword === 'const' && e.instancePath === path).map((e) => JSON.stringify(e.params.allowedValue))
}

/** The path of the first string in `value` that holds U+0000, if any (params are small and shallow). */
function nulField (value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulField(value[i], `${path}.${i}`)
      if (found) return found
    }
    return undefined
  }
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const found = nulField(inner, `${path}.${key}`)
      if (found) return found
    }
  }
  return undefined
}

export interface JobTypeInfo {
  name: JobType
  summary: string
  input: 'file' | 'none'
  /** The params' JSON Schema, as the API validates them: clients build their forms from it. */
  params: Record<string, unknown>
}

/** Every registered type as a client sees it (GET /api/v1/job-types), so new types need no client change. */
export function jobTypeCatalog (): JobTypeInfo[] {
  // A JSON round trip leaves the plain schema: TypeBox keeps its own markers under symbols.
  return JOB_TYPE_NAMES.map((name) => ({ name, summary: JOB_TYPES[name].summary, input: JOB_TYPES[name].input, params: JSON.parse(JSON.stringify(JOB_TYPES[name].params)) as Record<string, unknown> }))
}
