import { analyzeEngine } from './analyze/analyze.engine.ts'
import type { Engine } from './engine.ts'
import { separateEngine } from './separate/separate.engine.ts'
import { generateEngine } from './generate/index.ts'
import { createSynthesiser, speakEngine } from './speak/index.ts'
import { transcribeEngines } from './transcribe/index.ts'
import { createSpeechTranslator } from './translate-speech/translate-speech.engine.ts'
import { createApertiumTranslator } from './translate/index.ts'

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
  const analyze = analyzeEngine()
  const translate = createApertiumTranslator()
  const separate = separateEngine()
  const generate = generateEngine({ soundfont: options.soundfont ?? '' })
  // One synthesiser, so its probe of the installed voices is shared by the job and the status.
  const synthesiser = createSynthesiser()
  const speak = speakEngine(synthesiser)
  const translateSpeech = createSpeechTranslator({ transcribe, translator: translate, synthesiser })
  return {
    analyze,
    transcribe,
    /** Synchronous text translation (POST /api/v1/translate, and speech translation). */
    translate,
    /** Stem separation; an operator's neural separator (docs/separation.md) would replace it here. */
    separate,
    /** Procedural music (MIDI through FluidSynth); an operator's neural generator would plug in here. */
    generate,
    /** All of them, for `tympan doctor` and GET /api/v1/engines. */
    /** Speech synthesis as a job (speak) and the OpenAI speech endpoint. */
    speak,
    /** Speech for other capabilities (speech translation): WAV out, voices by language. */
    synthesiser,
    /** Speech translation (the translate job): recogniser, translator and synthesiser in a row; each part reports its own status. */
    translateSpeech,
    /** All of them, for `tympan doctor` and GET /api/v1/engines. */
    all: (): Engine<never, unknown>[] => [analyze, ...Object.values(transcribe), translate, speak, separate, generate] as unknown as Engine<never, unknown>[]
  }
}

export type Engines = ReturnType<typeof createEngines>
