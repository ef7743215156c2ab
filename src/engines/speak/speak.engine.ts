import { join } from 'node:path'
import type { SourceEngine } from '../engine.ts'
import { runProcess } from '../process.ts'
import { FORMAT_INFO, OUTPUT_RATE, encodeArgs, type SpeechFormat } from './speak-args.ts'
import type { SpeechRequest, createSynthesiser } from './synthesiser.ts'

export interface SpeakParams extends SpeechRequest {
  /** Default mp3, as OpenAI's. */
  format?: SpeechFormat
}

export interface SpeakResult {
  /** The Tympan id of the voice that spoke (an OpenAI name resolves to one). */
  voice: string
  language: string
  format: SpeechFormat
  durationSec: number
  sampleRate: number
  characters: number
  speed: number
}

// Synthesis is most of the work; encoding the joined WAV takes the rest.
const SYNTHESIS_SHARE = 0.95

/**
 * The `speak` job's engine: the synthesiser's WAV, encoded by ffmpeg into the asked format as
 * the artifact `speech.<ext>`.
 */
export function speakEngine (synthesiser: ReturnType<typeof createSynthesiser>): SourceEngine<SpeakParams, SpeakResult> {
  return {
    name: 'speak',
    status: () => synthesiser.status(),

    async run (params, context) {
      const format = params.format ?? 'mp3'
      const info = FORMAT_INFO[format]
      const wav = join(context.workDir, format === 'wav' ? 'speech.wav' : 'joined.wav')
      const spoken = await synthesiser.synthesise(params, wav, {
        signal: context.signal,
        workDir: context.workDir,
        parallelism: context.parallelism,
        progress: (fraction, stage) => { context.progress(fraction * SYNTHESIS_SHARE, stage) }
      })
      let path = wav
      if (format !== 'wav') {
        context.progress(SYNTHESIS_SHARE, `encoding ${format}`)
        path = join(context.workDir, `speech.${info.ext}`)
        await runProcess('ffmpeg', encodeArgs(wav, format, path), { signal: context.signal, timeoutMs: 60_000 + spoken.durationSec * 1000, pkg: 'ffmpeg', maxOutput: 64 * 1024 })
      }
      context.progress(1, 'done')
      const voice = (await synthesiser.voices()).find((v) => v.id === spoken.voice.split('+')[0])
      return {
        result: {
          voice: spoken.voice,
          language: voice?.language ?? params.language ?? 'en',
          format,
          durationSec: spoken.durationSec,
          sampleRate: OUTPUT_RATE,
          characters: params.text.length,
          speed: params.speed ?? 1
        },
        artifacts: [{ name: `speech.${info.ext}`, path, contentType: info.contentType }]
      }
    }
  }
}
