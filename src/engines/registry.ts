import { analyzeEngine } from './analyze/analyze.engine.ts'
import type { Engine } from './engine.ts'
import { generateEngine } from './generate/index.ts'
import { transcribeEngines } from './transcribe/index.ts'

export interface EngineOptions {
  whisperBin: string
  whisperModel: string
  /** SOUNDFONT: overrides the best installed General MIDI SoundFont. */
  soundfont?: string
}

/** Every engine Tympan runs, by capability. An operator's stronger engine plugs in here. */
export function createEngines (options: EngineOptions) {
  const transcribe = transcribeEngines({
    ...(options.whisperBin ? { whisperBin: options.whisperBin } : {}),
    ...(options.whisperModel ? { whisperModel: options.whisperModel } : {})
  })
  const generate = generateEngine({ soundfont: options.soundfont ?? '' })
  return {
    analyze: analyzeEngine(),
    transcribe,
    generate,
    /** All of them, for `tympan doctor` and GET /api/v1/engines. */
    all: (): Engine<never, unknown>[] => [analyzeEngine(), ...Object.values(transcribe), generate] as unknown as Engine<never, unknown>[]
  }
}

export type Engines = ReturnType<typeof createEngines>
