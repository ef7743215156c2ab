import { atempoChain } from '../speak/speak-args.ts'

/**
 * Pure: where each synthesised clip goes in the translated speech, and the ffmpeg command that
 * builds it. A clip starts where its segment's speech starts in the source; one longer than
 * the time until the next segment starts is sped up (ffmpeg atempo, pitch kept) so it never
 * runs into the next, and a shorter one is followed by silence. Past `maxSpeed` speech stops
 * being followed, so a clip that would need more plays at `maxSpeed` and the next clips wait
 * for it: they start as soon as it ends, and the delay is absorbed by the pauses after them.
 */

/**
 * The default cap. Measured on the LibriVox utterances sped up by atempo, pocketsphinx's word
 * error rate goes 0.28 (1×), 0.37 (1.5×), 0.72 (2×), 0.85 (2.5×): past 2× speech stops being
 * followed, by a recogniser and (from 275 words a minute, studies of compressed speech find)
 * by a listener. A job may allow up to MAX_SPEED_LIMIT.
 */
export const MAX_SPEED = 2
export const MAX_SPEED_LIMIT = 4

export interface Placement {
  /** Seconds into the output where the clip begins. */
  at: number
  /** Playback speed: 1, or the speed-up that makes the clip fit. */
  speed: number
  /** Seconds the clip lasts once sped up. */
  playedSec: number
  /** How much later than its source segment it starts (a previous clip needed more than maxSpeed). */
  delaySec: number
  /** Seconds of silence after it, up to the next clip or the end. */
  padSec: number
}

export interface Timeline {
  placements: Placement[]
  /** The source's duration, or longer when the last clips overran it. */
  durationSec: number
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000
const ceil4 = (value: number) => Math.ceil(value * 10_000 - 1e-6) / 10_000

/**
 * `starts[i]` is segment i's start in the source (ascending), `clipSec[i]` its clip's length,
 * `sourceSec` the source's duration: the last clip has until then.
 */
export function planTimeline (starts: number[], clipSec: number[], sourceSec: number, options: { maxSpeed?: number } = {}): Timeline {
  if (starts.length !== clipSec.length) throw new Error('one start per clip')
  const maxSpeed = Math.min(MAX_SPEED_LIMIT, Math.max(1, options.maxSpeed ?? MAX_SPEED))
  const placements: Placement[] = []
  let cursor = 0
  for (const [i, start] of starts.entries()) {
    const length = Math.max(0, clipSec[i] ?? 0)
    const at = Math.max(start, cursor)
    const until = i + 1 < starts.length ? starts[i + 1]! : Math.max(sourceSec, start)
    const room = until - at
    const needed = room > 0 ? length / room : Infinity
    // Rounded up, so the clip as played is never longer than planned.
    const speed = needed > 1 ? Math.min(maxSpeed, ceil4(needed)) : 1
    const played = length / speed
    placements.push({ at: round(at), speed, playedSec: round(played), delaySec: round(at - start), padSec: 0 })
    cursor = at + played
  }
  const durationSec = round(Math.max(sourceSec, cursor))
  placements.forEach((p, i) => { p.padSec = round(Math.max(0, (placements[i + 1]?.at ?? durationSec) - p.at - p.playedSec)) })
  return { placements, durationSec }
}

export interface TimelineCommand {
  args: string[]
  /** The filter graph, written to `scriptPath` (hundreds of clips would make a long argv). */
  filter: string
}

/**
 * ffmpeg arguments that place each clip (`clips[i]`, any rate) at its time in one mono WAV of
 * the timeline's duration at `sampleRate`. Clips never overlap, so mixing them without
 * normalisation is their concatenation with the silences in between.
 */
export function timelineCommand (timeline: Timeline, clips: string[], output: string, options: { scriptPath: string, sampleRate: number }): TimelineCommand {
  if (clips.length !== timeline.placements.length) throw new Error('one clip per placement')
  const rate = options.sampleRate
  const total = timeline.durationSec.toFixed(3)
  const chains = timeline.placements.map((p, i) => {
    // atempo skips samples instead of blending them above 2×: the chain's stages stay at or below it.
    const tempo = atempoChain(p.speed)
    const filters = [`aresample=${rate}`, 'aformat=sample_fmts=fltp:channel_layouts=mono', ...tempo, `adelay=${Math.round(p.at * 1000)}:all=1`]
    return `[${i}:a]${filters.join(',')}[c${i}]`
  })
  const fit = `apad=whole_dur=${total},atrim=duration=${total}`
  const last = clips.length === 0
    ? `anullsrc=r=${rate}:cl=mono,${fit}[out]`
    : `${clips.map((_, i) => `[c${i}]`).join('')}amix=inputs=${clips.length}:normalize=0:dropout_transition=0,${fit}[out]`
  return {
    filter: [...chains, last].join(';\n'),
    args: [
      '-nostdin', '-v', 'error', '-y',
      ...clips.flatMap((clip) => ['-i', clip]),
      '-filter_complex_script', options.scriptPath,
      '-map', '[out]', '-ac', '1', '-ar', String(rate), '-c:a', 'pcm_s16le', output
    ]
  }
}
