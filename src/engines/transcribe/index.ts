import type { Engine } from '../engine.ts'
import { createPocketsphinxEngine } from './pocketsphinx.engine.ts'
import type { TranscribeParams, Transcript } from './transcript.ts'
import { createWhisperEngine } from './whisper.engine.ts'

export type { TranscribeParams, TranscribeQuality, Transcript, TranscriptSegment, TranscriptWord } from './transcript.ts'
export { DEFAULT_QUALITY, TRANSCRIBE_QUALITIES, isTranscribeQuality } from './transcript.ts'
export { TRANSCRIPT_ARTIFACTS, toJson, toSrt, toText, toVerboseJson, toVtt } from './transcript-formats.ts'
export type { TranscriptArtifactName, VerboseJson } from './transcript-formats.ts'

/** The transcription engines; whisper is available only when the caller names a binary and a model. */
export function transcribeEngines (options: { whisperBin?: string, whisperModel?: string } = {}): Record<'pocketsphinx' | 'whisper', Engine<TranscribeParams, Transcript>> {
  return {
    pocketsphinx: createPocketsphinxEngine(),
    whisper: createWhisperEngine({ bin: options.whisperBin, model: options.whisperModel })
  }
}
