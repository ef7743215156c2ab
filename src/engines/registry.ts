import { analyzeEngine } from './analyze/analyze.engine.ts'
import type { Engine } from './engine.ts'
import { transcribeEngines } from './transcribe/index.ts'
import { createApertiumTranslator } from './translate/index.ts'

export interface EngineOptions {
  whisperBin: string
  whisperModel: string
}

/** Every engine Tympan runs, by capability. An operator's stronger engine plugs in here. */
export function createEngines (options: EngineOptions) {
  const transcribe = transcribeEngines({
    ...(options.whisperBin ? { whisperBin: options.whisperBin } : {}),
    ...(options.whisperModel ? { whisperModel: options.whisperModel } : {})
  })
  const translate = createApertiumTranslator()
  return {
    analyze: analyzeEngine(),
    transcribe,
    /** Synchronous text translation (POST /api/v1/translate, and speech translation). */
    translate,
    /** All of them, for `tympan doctor` and GET /api/v1/engines. */
    all: (): Engine<never, unknown>[] => [analyzeEngine(), ...Object.values(transcribe), translate] as unknown as Engine<never, unknown>[]
  }
}

export type Engines = ReturnType<typeof createEngines>
