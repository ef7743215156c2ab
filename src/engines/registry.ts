import { analyzeEngine } from './analyze/analyze.engine.ts'
import type { Engine } from './engine.ts'
import { separateEngine } from './separate/separate.engine.ts'
import { transcribeEngines } from './transcribe/index.ts'

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
  return {
    analyze: analyzeEngine(),
    transcribe,
    /** Stem separation; an operator's neural separator (docs/separation.md) would replace it here. */
    separate: separateEngine(),
    /** All of them, for `tympan doctor` and GET /api/v1/engines. */
    all: (): Engine<never, unknown>[] => [analyzeEngine(), ...Object.values(transcribe), separateEngine()] as unknown as Engine<never, unknown>[]
  }
}

export type Engines = ReturnType<typeof createEngines>
