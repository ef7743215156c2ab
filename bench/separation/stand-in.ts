// A stand-in for the separation DSP and engine (helper SEP's src/dsp/separation and
// src/engines/separate) with their contract's shapes, so the bench runs before they land: every
// stem is an equal share of the mixture. Removed when the real ones are merged.
import fs from 'node:fs'
import path from 'node:path'
import type { Engine } from '../../src/engines/engine.ts'
import { readWav, writeFloatWav } from './wav.ts'

export type StemName = 'vocals' | 'accompaniment' | 'drums' | 'bass' | 'other'
export interface SeparationOptions { stems: 2 | 4 }
type Stems = Partial<Record<StemName, Float32Array[]>>

function shares (channels: Float32Array[], _sampleRate: number, options: SeparationOptions): Stems {
  const names: StemName[] = options.stems === 2 ? ['vocals', 'accompaniment'] : ['vocals', 'drums', 'bass', 'other']
  return Object.fromEntries(names.map((n) => [n, channels.map((c) => Float32Array.from(c, (v) => v / names.length))]))
}

export const separate = shares
export const hpssBaseline = shares
export const repetSimBaseline = shares

export const separateEngine: Engine<{ stems: 2 | 4, format: 'wav' }, { stems: string[] }> = {
  name: 'stand-in',
  status: async () => ({ name: 'stand-in', available: true, package: '' }),
  async run (input, params, context) {
    const audio = readWav(input.path)
    const stems = shares(audio.channels, audio.sampleRate, params)
    const artifacts = Object.entries(stems).map(([name, channels]) => {
      const file = path.join(context.workDir, `${name}.wav`)
      writeFloatWav(file, { sampleRate: audio.sampleRate, channels: channels! })
      return { name: `${name}.wav`, path: file, contentType: 'audio/wav' }
    })
    fs.writeFileSync(path.join(context.workDir, 'summary.json'), '{}')
    return { result: { stems: Object.keys(stems) }, artifacts }
  }
}
