/** Synthetic audio for the DSP tests: deterministic, so a failure reproduces. */

export function seededRandom (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

export function sine (frequency: number, sampleRate: number, seconds: number, amplitude = 1): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * sampleRate) }, (_, t) => amplitude * Math.sin((2 * Math.PI * frequency * t) / sampleRate))
}

function addAt (out: Float32Array, at: number, sound: Float32Array): void {
  for (let i = 0; i < sound.length && at + i < out.length; i++) out[at + i] = out[at + i]! + sound[i]!
}

function kick (sampleRate: number): Float32Array {
  let phase = 0
  return Float32Array.from({ length: Math.round(0.25 * sampleRate) }, (_, i) => {
    const t = i / sampleRate
    phase += (2 * Math.PI * (50 + 100 * Math.exp(-t * 30))) / sampleRate
    return 0.8 * Math.exp(-t * 12) * Math.sin(phase)
  })
}

function noiseBurst (sampleRate: number, seconds: number, amplitude: number, random: () => number): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * sampleRate) }, (_, i) => amplitude * Math.exp((-i / sampleRate) * 40) * (2 * random() - 1))
}

/** Kick on beats 1 and 3, snare on 2 and 4, hi-hat on every eighth note. */
export function drumPattern (bpm: number, sampleRate: number, seconds: number): Float32Array {
  const random = seededRandom(bpm)
  const out = new Float32Array(Math.round(seconds * sampleRate))
  const beat = (60 / bpm) * sampleRate
  for (let b = 0; b * beat < out.length; b++) {
    const at = Math.round(b * beat)
    addAt(out, at, b % 2 === 0 ? kick(sampleRate) : noiseBurst(sampleRate, 0.2, 0.5, random))
    addAt(out, at, noiseBurst(sampleRate, 0.05, 0.15, random))
    addAt(out, Math.round(at + beat / 2), noiseBurst(sampleRate, 0.05, 0.1, random))
  }
  return out
}

export function midiToHz (note: number): number {
  return 440 * 2 ** ((note - 69) / 12)
}

/** Plucked notes with a few harmonics, `noteSeconds` each, one after another or stacked in chords. */
export function melody (chords: number[][], noteSeconds: number, sampleRate: number, cents = 0): Float32Array {
  const length = Math.round(noteSeconds * sampleRate)
  const out = new Float32Array(chords.length * length)
  chords.forEach((notes, index) => {
    for (const note of notes) {
      const frequency = midiToHz(note + cents / 100)
      for (let i = 0; i < length; i++) {
        const t = i / sampleRate
        let value = 0
        for (let harmonic = 1; harmonic <= 4; harmonic++) value += Math.sin(2 * Math.PI * frequency * harmonic * t) / harmonic
        out[index * length + i] = out[index * length + i]! + (0.2 * value * Math.exp(-t * 3)) / notes.length
      }
    }
  })
  return out
}
