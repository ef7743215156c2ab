import { writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { EngineError, type Engine, type EngineStatus } from '../engine.ts'
import { shapeResult, waveformDocument } from './analyze.result.ts'
import { analyseSamples, ffmpegVersion, measureLoudness, probe, renderPictures, type Tools } from './analyze.steps.ts'
import type { AnalyzeParams, AnalyzeResult } from './analyze.types.ts'

export type { AnalyzeParams, AnalyzeResult, WaveformDocument } from './analyze.types.ts'

const PACKAGE = 'ffmpeg'

function checkParams (params: AnalyzeParams): void {
  const threshold = params.silenceThresholdDb
  if (threshold !== undefined && !(Number.isFinite(threshold) && threshold >= -120 && threshold <= 0)) {
    throw new EngineError('invalid-input', 'silenceThresholdDb must be a number from -120 to 0.')
  }
}

/**
 * Facts (ffprobe), EBU R128 loudness (ffmpeg's ebur128), levels, silence, tempo, key and
 * waveform peaks (src/dsp, in a worker thread), and two pictures (ffmpeg). Artifacts:
 * `waveform.json`, `waveform.png` (a row per channel) and `spectrogram.png` (with legend).
 */
export function analyzeEngine (options: { ffmpeg?: string, ffprobe?: string } = {}): Engine<AnalyzeParams, AnalyzeResult> {
  const tools: Tools = { ffmpeg: options.ffmpeg ?? 'ffmpeg', ffprobe: options.ffprobe ?? 'ffprobe' }

  return {
    name: 'analyze',

    async status (): Promise<EngineStatus> {
      const { available, version } = await ffmpegVersion(tools)
      return {
        name: 'analyze',
        available,
        package: PACKAGE,
        ...(version ? { version } : {}),
        ...(available ? {} : { detail: `${tools.ffmpeg} or ${tools.ffprobe} does not run: install the Debian package ${PACKAGE}.` })
      }
    },

    async run (input, params, context) {
      checkParams(params)
      const path = resolve(input.path)
      context.progress(0, 'probing')
      const facts = await probe(tools, path, context.signal)
      context.progress(0.02, 'measuring loudness')
      const loudness = await measureLoudness(tools, path, facts.durationSec, context, { from: 0.02, to: 0.25 })
      context.progress(0.25, 'decoding')
      const analysis = await analyseSamples(tools, path, facts, params.silenceThresholdDb, context, { from: 0.25, to: 0.75 })
      context.progress(0.8, 'rendering images')
      const pictures = await renderPictures(tools, path, facts, analysis.frames, context)
      const waveformJson = join(context.workDir, 'waveform.json')
      await writeFile(waveformJson, JSON.stringify(waveformDocument(analysis, facts.sampleRate)))
      return {
        result: shapeResult(facts, loudness, analysis),
        artifacts: [
          { name: 'waveform.json', path: waveformJson, contentType: 'application/json' },
          { name: 'waveform.png', path: pictures.waveform, contentType: 'image/png' },
          { name: 'spectrogram.png', path: pictures.spectrogram, contentType: 'image/png' }
        ]
      }
    }
  }
}
