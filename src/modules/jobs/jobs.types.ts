import { Ajv } from 'ajv'
import Type, { type Static, type TSchema } from 'typebox'
import { unprocessable } from '../../http/problem.ts'

/**
 * The one registry of job types: each type's params schema, its time budget and whether it
 * works on a file (`input: 'file'`) or makes something from its params alone (`'none'`). Handlers live in jobs.handlers.ts, keyed by the same union, and the worker
 * refuses to start when a type here has no handler there.
 */
export const TranscribeParams = Type.Object({
  engine: Type.Optional(Type.Union([Type.Literal('pocketsphinx'), Type.Literal('whisper')], { description: 'Defaults to TRANSCRIBE_ENGINE' })),
  language: Type.Optional(Type.String({ pattern: '^[a-z]{2}$', description: 'ISO 639-1; GET /api/v1/engines lists the installed ones' })),
  prompt: Type.Optional(Type.String({ maxLength: 1000, description: 'Context for engines that take it (whisper); pocketsphinx ignores it' })),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  wordTimestamps: Type.Optional(Type.Boolean({ default: true }))
}, { additionalProperties: false })

export const AnalyzeParams = Type.Object({
  silenceThresholdDb: Type.Optional(Type.Number({ minimum: -120, maximum: 0, description: 'Frames below this level count as silence (default -50 dBFS)' }))
}, { additionalProperties: false })

interface JobTypeSpec<S extends TSchema> {
  params: S
  summary: string
  /** `file`: the job needs `fileId` and its handler gets the audio; `none`: it takes none. */
  input: 'file' | 'none'
  /** The whole budget for one attempt, from the input's duration (0 without one) and the params. */
  timeoutSec: (durationSec: number, params: Static<S>) => number
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
    const message = error?.keyword === 'additionalProperties' ? 'is not a parameter of this job type' : (error?.message ?? 'is invalid')
    throw unprocessable(`${field} ${message}`, { field })
  }
  return copy as JobParams[T]
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
