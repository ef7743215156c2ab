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

// ffmpeg holds every input open at once: a run takes at most this many clips (an hour of
// speech is hundreds of segments, and a process may have only 1024 descriptors).
export const CLIPS_PER_RUN = 64

export interface TimelineStep {
  args: string[]
  /** A filter graph to write to its path before the run (hundreds of clips would make a long argv). */
  script?: { path: string, text: string }
  /** A concat list to write to its path before the run. */
  list?: { path: string, text: string }
}

/**
 * The ffmpeg runs that place each clip (`clips[i]`, any rate) at its time in one mono 16-bit
 * WAV of the timeline's duration at `sampleRate`, in order. Clips never overlap, so mixing
 * them without normalisation is their concatenation with the silences between. Up to
 * CLIPS_PER_RUN clips it is one run; beyond, each run renders a stretch of the timeline from
 * its first clip's start to the next run's, cut at whole samples, and a last run joins the
 * stretches, so no sample is lost or added where they meet.
 */
export function timelineSteps (timeline: Timeline, clips: string[], output: string, options: { dir: string, sampleRate: number, clipsPerRun?: number }): TimelineStep[] {
  if (clips.length !== timeline.placements.length) throw new Error('one clip per placement')
  const rate = options.sampleRate
  const perRun = Math.max(1, options.clipsPerRun ?? CLIPS_PER_RUN)
  const total = Math.round(timeline.durationSec * rate)
  const firsts = clips.length === 0 ? [0] : Array.from({ length: Math.ceil(clips.length / perRun) }, (_, k) => k * perRun)
  // Each stretch starts at a whole sample: the first at 0, the others at their first clip.
  const bounds = firsts.map((first, k) => (k === 0 ? 0 : Math.round(timeline.placements[first]!.at * rate)))
  const stretch = (k: number, out: string): TimelineStep => {
    const from = bounds[k]!
    const to = bounds[k + 1] ?? total
    const indices = clips.slice(firsts[k], firsts[k + 1] ?? clips.length).map((_, j) => firsts[k]! + j)
    const cut = `apad=whole_len=${to - from},atrim=end_sample=${to - from}`
    const chains = indices.map((i, j) => {
      const p = timeline.placements[i]!
      // atempo skips samples instead of blending them above 2×: the chain's stages stay at or
      // below it. Its output runs a few samples past the planned length; the cut keeps a clip
      // to its slot, so clips never overlap and every run of the timeline has the same samples.
      const filters = [`aresample=${rate}`, 'aformat=sample_fmts=fltp:channel_layouts=mono', ...atempoChain(p.speed), `atrim=end_sample=${Math.floor(p.playedSec * rate)}`, `adelay=${Math.max(0, Math.round(p.at * rate) - from)}S:all=1`]
      return `[${j}:a]${filters.join(',')}[c${j}]`
    })
    const mix = indices.length === 0
      ? `anullsrc=r=${rate}:cl=mono,${cut}[out]`
      : `${indices.map((_, j) => `[c${j}]`).join('')}amix=inputs=${indices.length}:normalize=0:dropout_transition=0,${cut}[out]`
    const path = `${options.dir}/timeline-${k}.txt`
    return {
      script: { path, text: [...chains, mix].join(';\n') },
      args: [
        '-nostdin', '-v', 'error', '-y',
        ...indices.flatMap((i) => ['-i', clips[i]!]),
        '-filter_complex_script', path,
        '-map', '[out]', '-ac', '1', '-ar', String(rate), '-c:a', 'pcm_s16le', out
      ]
    }
  }
  if (firsts.length === 1) return [stretch(0, output)]
  const parts = firsts.map((_, k) => `${options.dir}/stretch-${k}.wav`)
  const list = `${options.dir}/stretches.txt`
  return [
    ...parts.map((part, k) => stretch(k, part)),
    {
      // The concat format quotes with ' and escapes one inside as '\''.
      list: { path: list, text: parts.map((part) => `file '${part.replaceAll("'", "'\\''")}'\n`).join('') },
      args: ['-nostdin', '-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-c:a', 'pcm_s16le', output]
    }
  ]
}
