// bench/generate/soundfonts: which General MIDI SoundFont should render Tympan's music?
// For every installed candidate (src/engines/generate/soundfont.ts, and MuseScore's) it prints:
//   - install size; the samples it holds and their median rate (from its `shdr` chunk: more
//     samples means more key and velocity zones, a low rate loses the top octave);
//   - the CPU time and peak memory of FluidSynth loading it (a one-note file) and rendering a
//     60 s full-band piece from the composer (minus the loading), per minute of music;
//   - listen-free probes on single notes: the piano's velocity response (brightness at
//     velocity 120 over velocity 40: velocity layers or a filter make a hard note brighter, a
//     single sample only louder), its stereo width (correlation of the channels: 1 is a mono
//     sample), and its sustain (level 2.5 s into a held note against the attack; a real piano
//     loses some 15–30 dB).
// CPU times come from GNU time, so they hold on a loaded machine where wall time does not.
// Usage: node bench/generate/soundfonts.ts
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { writeMidi, type MidiEvent } from 'midi-file'
import { createRealFft, hannWindow } from '../../src/dsp/fft.ts'
import { compose } from '../../src/engines/generate/composer.ts'
import { toMidi } from '../../src/engines/generate/midi.ts'
import { planPiece } from '../../src/engines/generate/plan.ts'
import { fluidsynthArgs, SAMPLE_RATE } from '../../src/engines/generate/render-args.ts'
import { DEBIAN_SOUNDFONTS, MUSESCORE_SOUNDFONT } from '../../src/engines/generate/soundfont.ts'
import { printTable } from '../lib/server.ts'

const run = promisify(execFile)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-soundfonts-'))
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))

// Probe notes, 4 s apart: [program, note, velocity, seconds held].
const PROBES: [number, number, number, number][] = [[0, 60, 120, 3], [0, 60, 40, 3]]
const PROBE_GAP_SEC = 4

function probeMidi (probes: [number, number, number, number][]): Uint8Array {
  const ticksPerBeat = 480
  // 120 BPM: a beat is half a second.
  const ticks = (sec: number) => Math.round(sec * 2 * ticksPerBeat)
  const events: MidiEvent[] = [{ deltaTime: 0, meta: true, type: 'setTempo', microsecondsPerBeat: 500_000 }]
  let now = 0
  probes.forEach(([program, note, velocity, held], i) => {
    const start = ticks(i * PROBE_GAP_SEC)
    events.push({ deltaTime: start - now, type: 'programChange', channel: 0, programNumber: program })
    events.push({ deltaTime: 0, type: 'noteOn', channel: 0, noteNumber: note, velocity })
    events.push({ deltaTime: ticks(held), type: 'noteOff', channel: 0, noteNumber: note, velocity: 0 })
    now = start + ticks(held)
  })
  events.push({ deltaTime: ticks(1), meta: true, type: 'endOfTrack' })
  return Uint8Array.from(writeMidi({ header: { format: 0, numTracks: 1, ticksPerBeat }, tracks: [events] }))
}

async function renderTimed (soundfont: string, midi: string, wav: string): Promise<{ cpuSec: number, rssMb: number }> {
  const { stderr } = await run('/usr/bin/time', ['-f', 'TIME %U %S %M', 'fluidsynth', ...fluidsynthArgs({ soundfont, midi, wav })], { maxBuffer: 1 << 24 })
  const [user, sys, rss] = /TIME (\S+) (\S+) (\d+)/.exec(stderr)!.slice(1).map(Number) as [number, number, number]
  return { cpuSec: user + sys, rssMb: rss / 1024 }
}

async function readStereo (wav: string): Promise<[Float32Array, Float32Array]> {
  const raw = fs.readFileSync(wav)
  // FluidSynth's float WAV: a 44-byte canonical header, or longer; find the data chunk.
  const data = raw.indexOf('data', 12, 'latin1')
  const samples = new Float32Array(raw.buffer.slice(raw.byteOffset + data + 8, raw.byteOffset + raw.length - ((raw.length - data - 8) % 8)))
  const left = new Float32Array(samples.length / 2)
  const right = new Float32Array(samples.length / 2)
  for (let i = 0; i < left.length; i++) { left[i] = samples[2 * i]!; right[i] = samples[2 * i + 1]! }
  return [left, right]
}

const SIZE = 8192
const fft = createRealFft(SIZE)
const window = hannWindow(SIZE)

/** Sample count and median sample rate, from the sample headers (46 bytes each, the last a terminator). */
function sampleHeaders (file: string): { samples: number, medianRate: number } {
  const raw = fs.readFileSync(file)
  const at = raw.lastIndexOf('shdr', undefined, 'latin1')
  const size = raw.readUInt32LE(at + 4)
  const rates: number[] = []
  for (let offset = at + 8; offset + 46 <= at + 8 + size - 46; offset += 46) rates.push(raw.readUInt32LE(offset + 36))
  rates.sort((a, b) => a - b)
  return { samples: rates.length, medianRate: rates[Math.floor(rates.length / 2)] ?? 0 }
}

/** Long-term power spectrum of samples [from, to). */
function spectrum (x: Float32Array, from: number, to: number): Float64Array {
  const power = new Float64Array(fft.bins)
  const re = new Float64Array(fft.bins)
  const im = new Float64Array(fft.bins)
  const frame = new Float64Array(SIZE)
  for (let start = from; start + SIZE <= to; start += SIZE / 2) {
    for (let i = 0; i < SIZE; i++) frame[i] = x[start + i]! * window[i]!
    fft.forward(frame, re, im)
    for (let k = 0; k < fft.bins; k++) power[k] = power[k]! + re[k]! ** 2 + im[k]! ** 2
  }
  return power
}

const hz = (k: number) => (k * SAMPLE_RATE) / SIZE
function centroidHz (power: Float64Array): number {
  let sum = 0
  let weighted = 0
  for (let k = 0; k < power.length; k++) { sum += power[k]!; weighted += power[k]! * hz(k) }
  return weighted / sum
}
function rmsDb (x: Float32Array, from: number, to: number): number {
  let sum = 0
  for (let i = from; i < to; i++) sum += x[i]! ** 2
  return 10 * Math.log10(sum / (to - from) + 1e-20)
}
function correlation (a: Float32Array, b: Float32Array, from: number, to: number): number {
  let ab = 0; let aa = 0; let bb = 0
  for (let i = from; i < to; i++) { ab += a[i]! * b[i]!; aa += a[i]! ** 2; bb += b[i]! ** 2 }
  return ab / Math.sqrt(aa * bb)
}

const load = path.join(dir, 'load.mid')
fs.writeFileSync(load, probeMidi([[0, 60, 100, 0.1]]))
const probe = path.join(dir, 'probe.mid')
fs.writeFileSync(probe, probeMidi(PROBES))
const piece = path.join(dir, 'piece.mid')
const PIECE_SEC = 60
fs.writeFileSync(piece, toMidi(compose(planPiece({ prompt: 'energetic pop with piano, strings and drums, 120 bpm', durationSec: PIECE_SEC, seed: 7 }))))

const rows: (string | number)[][] = []
for (const font of [...DEBIAN_SOUNDFONTS, MUSESCORE_SOUNDFONT]) {
  if (!fs.existsSync(font.path)) { console.log(`${font.name}: not installed (Debian package ${font.package})`); continue }
  const file = fs.realpathSync(font.path)
  const headers = sampleHeaders(file)
  const loaded = await renderTimed(font.path, load, path.join(dir, 'load.wav'))
  const rendered = await renderTimed(font.path, piece, path.join(dir, 'piece.wav'))
  await renderTimed(font.path, probe, path.join(dir, 'probe.wav'))
  const [left, right] = await readStereo(path.join(dir, 'probe.wav'))
  const at = (i: number, sec: number) => Math.round((i * PROBE_GAP_SEC + sec) * SAMPLE_RATE)
  const hard = spectrum(left, at(0, 0), at(0, 1))
  const soft = spectrum(left, at(1, 0), at(1, 1))
  rows.push([
    font.name, (fs.statSync(file).size / 2 ** 20).toFixed(1), headers.samples, headers.medianRate,
    loaded.cpuSec.toFixed(2), (((rendered.cpuSec - loaded.cpuSec) * 60) / PIECE_SEC).toFixed(2), Math.max(loaded.rssMb, rendered.rssMb).toFixed(0),
    (centroidHz(hard) / centroidHz(soft)).toFixed(2), (rmsDb(left, at(0, 0), at(0, 0.3)) - rmsDb(left, at(1, 0), at(1, 0.3))).toFixed(1),
    correlation(left, right, at(0, 0), at(0, 2)).toFixed(3), (rmsDb(left, at(0, 2.4), at(0, 2.6)) - rmsDb(left, at(0, 0), at(0, 0.1))).toFixed(1)
  ])
}
printTable('General MIDI SoundFonts, rendered by FluidSynth', [['SoundFont', 'MiB', 'samples', 'median Hz', 'load CPU s', 'render CPU s/min', 'peak RSS MiB',
  'piano v120/v40 brightness', 'v120−v40 dB', 'piano L/R corr', 'piano 2.5 s dB'], ...rows])
