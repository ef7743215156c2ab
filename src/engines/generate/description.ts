import { barsToSeconds, type Composition } from './composer.ts'
import { fadeSamples, SAMPLE_RATE, TARGET_LUFS, type AudioFormat } from './render-args.ts'
import { keyName } from './theory.ts'

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits

export interface GenerateResult {
  durationSec: number
  format: AudioFormat
  seed: number
  genre: string
  mood: string | null
  bpm: number
  key: string
  sections: string[]
  instruments: { part: string, instrument: string, program: number }[]
  soundfont: string
}

/** The job's result: the headline of what was made. */
export function summarise (composition: Composition, render: { soundfont: string, format: AudioFormat }): GenerateResult {
  const { plan } = composition
  return {
    durationSec: plan.durationSec,
    format: render.format,
    seed: plan.seed,
    genre: plan.genre.name,
    mood: plan.mood?.name ?? null,
    bpm: plan.bpm,
    key: keyName(plan.key),
    sections: plan.form.map((s) => s.name),
    instruments: plan.parts.map((p) => ({ part: p.part, instrument: p.instrument, program: p.program })),
    soundfont: render.soundfont
  }
}

/** composition.json: every choice, and the words or rule that made it. */
export function describe (composition: Composition, render: { soundfont: string, format: AudioFormat }) {
  const { plan } = composition
  const notes = Object.fromEntries(composition.tracks.map((t) => [t.part.part, t.notes.length]))
  return {
    kind: 'procedural',
    about: 'Composed by rules and a seeded random generator from the words of the prompt, not by a neural model: the same prompt and seed give the same MIDI, byte for byte.',
    prompt: plan.prompt,
    seed: { value: plan.seed, from: plan.seedFrom },
    durationSec: plan.durationSec,
    genre: { value: plan.genre.name, from: plan.genreFrom },
    mood: { value: plan.mood?.name ?? null, from: plan.moodFrom },
    tempo: { bpm: plan.bpm, from: plan.tempoFrom },
    key: { value: keyName(plan.key), from: plan.keyFrom },
    timeSignature: '4/4',
    swing: plan.genre.swing,
    form: plan.form.map((s) => ({ section: s.name, bars: s.bars, startSec: round(barsToSeconds(s.startBar, plan.bpm)), progression: s.progression })),
    ending: `the last bar holds the tonic chord (${composition.chords.at(-1)!.numeral}) to the end, fading over the last ${round(fadeSamples(plan.durationSec) / SAMPLE_RATE, 2)} s`,
    instruments: plan.parts.map((p) => ({ part: p.part, instrument: p.instrument, program: p.program, channel: p.channel + 1, from: p.from })),
    patterns: { drums: plan.drums, drumsFrom: plan.drumsFrom, bass: plan.genre.bass, chords: plan.genre.comp },
    notes,
    notUnderstood: plan.unknownWords,
    instrumentsNotUsed: plan.unusedInstruments,
    render: { synthesiser: 'FluidSynth', soundfont: render.soundfont, sampleRate: SAMPLE_RATE, format: render.format, loudnessTargetLufs: TARGET_LUFS }
  }
}
