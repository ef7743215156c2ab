import { analyzeEngine } from './analyze/analyze.engine.ts'
import type { Engine } from './engine.ts'
import { createSynthesiser, speakEngine } from './speak/index.ts'
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
  // One synthesiser, so its probe of the installed voices is shared by the job and the status.
  const synthesiser = createSynthesiser()
  const speak = speakEngine(synthesiser)
  return {
    analyze: analyzeEngine(),
    transcribe,
    speak,
    /** Speech for other capabilities (speech translation): WAV out, voices by language. */
    synthesiser,
    /** All of them, for `tympan doctor` and GET /api/v1/engines. */
    all: (): Engine<never, unknown>[] => [analyzeEngine(), ...Object.values(transcribe), speak] as unknown as Engine<never, unknown>[]
  }
}

export type Engines = ReturnType<typeof createEngines>
