// The rows of the table: Tympan's `separate` engine as a job runs it (file in, stem files
// out), the two classical baselines on the same mixtures, and the mixture itself as the floor.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { hpssBaseline, repetSimBaseline, type StemName } from '../../src/dsp/separation/index.ts'
import { separateEngine } from '../../src/engines/separate/separate.engine.ts'
import type { Mixture } from './testset.ts'
import { readWav, type Audio } from './wav.ts'

export type { StemName }
export type StemCount = 2 | 4
export type Estimates = Partial<Record<StemName, Float32Array[]>>

export const STEMS: Record<StemCount, StemName[]> = {
  2: ['vocals', 'accompaniment'],
  4: ['vocals', 'drums', 'bass', 'other']
}

export interface Method {
  label: string
  run: (mixture: Mixture, audio: Audio, stems: StemCount) => Promise<Estimates>
}

/** Runs the engine (the registry's `separate` entry) as the job runner would, in `workDir`; the stems stay on disk. */
export async function separateFile (file: string, durationSec: number, stems: StemCount, parallelism: number, workDir: string): Promise<Record<string, string>> {
  const context = { progress: () => {}, signal: new AbortController().signal, workDir, parallelism }
  const { artifacts } = await separateEngine().run({ path: file, durationSec }, { stems, format: 'wav' }, context)
  return Object.fromEntries(STEMS[stems].map((stem) => {
    const artifact = artifacts.find((a) => a.name === `${stem}.wav`)
    if (!artifact) throw new Error(`the engine wrote no ${stem}.wav`)
    return [stem, artifact.path]
  }))
}

async function runEngine (file: string, durationSec: number, stems: StemCount, parallelism: number): Promise<Estimates> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bench-separate-'))
  try {
    const paths = await separateFile(file, durationSec, stems, parallelism, workDir)
    return Object.fromEntries(Object.entries(paths).map(([stem, file]) => [stem, readWav(file).channels]))
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true })
  }
}

export const METHODS: Method[] = [
  {
    label: 'Tympan `separate`',
    run: (mixture, audio, stems) => runEngine(mixture.mixturePath, audio.channels[0]!.length / audio.sampleRate, stems, os.availableParallelism())
  },
  { label: 'HPSS baseline', run: async (_, audio, stems) => hpssBaseline(audio.channels, audio.sampleRate, { stems }) },
  { label: 'REPET-SIM baseline', run: async (_, audio, stems) => repetSimBaseline(audio.channels, audio.sampleRate, { stems }) },
  {
    label: 'the mixture itself (floor)',
    run: async (_, audio, stems) => Object.fromEntries(STEMS[stems].map((stem) => [stem, audio.channels]))
  }
]
