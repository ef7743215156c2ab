import type { EngineContext, EngineInput, EngineOutput } from '../../engines/engine.ts'
import { EngineError } from '../../engines/engine.ts'
import type { Engines } from '../../engines/registry.ts'
import { JOB_TYPE_NAMES, type JobParams, type JobType } from './jobs.types.ts'

/** `input` is the job's audio, or undefined for a type whose input is `none`. */
export type JobHandler = (input: EngineInput | undefined, params: Record<string, unknown>, context: EngineContext) => Promise<EngineOutput<unknown>>
export type JobHandlers = Record<JobType, JobHandler>

/** Each job type's handler: which engine runs it, with which params. */
export function jobHandlers (engines: Engines, defaultTranscribeEngine: keyof Engines['transcribe']): JobHandlers {
  return {
    analyze: (input, params, context) => engines.analyze.run(needs(input), params as JobParams['analyze'], context),
    transcribe: (input, raw, context) => {
      const params = raw as JobParams['transcribe']
      const name = params.engine ?? defaultTranscribeEngine
      const engine = engines.transcribe[name]
      if (!engine) throw new EngineError('invalid-input', `Unknown transcription engine ${String(name)}.`)
      const { engine: _engine, ...rest } = params
      return engine.run(needs(input), { ...rest, language: params.language ?? 'en' }, context)
    },
    separate: (input, params, context) => engines.separate.run(needs(input), params as JobParams['separate'], context),
    generate: (_input, params, context) => engines.generate.run(params as JobParams['generate'], context),
    speak: (_input, params, context) => engines.speak.run(params as JobParams['speak'], context),
    translate: (input, raw, context) => {
      // The create-time check made the codes canonical; the defaults are the job's own.
      const params = raw as JobParams['translate']
      return engines.translateSpeech.run(needs(input), { ...params, source_lang: params.source_lang ?? 'en', engine: params.engine ?? defaultTranscribeEngine }, context)
    }
  }
}

/** The audio of a file job; the service refuses such a job without a file, so this never throws in use. */
export function needs (input: EngineInput | undefined): EngineInput {
  if (!input) throw new EngineError('invalid-input', 'This job type needs an input file.')
  return input
}

/** Start-up check: a type nobody can run must stop the process, not strand jobs in the queue. */
export function assertHandlers (handlers: Partial<Record<string, unknown>>): void {
  const missing = JOB_TYPE_NAMES.filter((type) => typeof handlers[type] !== 'function')
  if (missing.length > 0) throw new Error(`job types without a handler: ${missing.join(', ')}`)
}
