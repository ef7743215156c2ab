import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import { MAX_SPEED, MAX_SPEED_LIMIT, planTimeline, timelineSteps } from './timeline.ts'

const EPS = 0.002

describe('speech timeline planner', () => {
  it('places a clip that fits at its segment\'s start and pads the rest of its slot with silence', () => {
    const { placements, durationSec } = planTimeline([1, 5], [2, 1], 8)
    assert.deepEqual(placements, [
      { at: 1, speed: 1, playedSec: 2, delaySec: 0, padSec: 2 },
      { at: 5, speed: 1, playedSec: 1, delaySec: 0, padSec: 2 }
    ])
    assert.equal(durationSec, 8)
  })

  it('speeds up a clip longer than the time to the next segment so that it ends as the next begins', () => {
    const [first] = planTimeline([0, 2], [3, 1], 4).placements
    assert.deepEqual(first, { at: 0, speed: 1.5, playedSec: 2, delaySec: 0, padSec: 0 })
    // The last segment has until the end of the source.
    const last = planTimeline([0], [6], 4).placements[0]!
    assert.equal(last.speed, 1.5)
    assert.equal(last.playedSec, 4)
  })

  it('caps the speed: the next clips wait for the end of a clip past the cap, hurry to catch up, and later pauses absorb the delay', () => {
    const { placements, durationSec } = planTimeline([0, 1, 2, 10], [5, 0.5, 0.5, 1], 12)
    assert.equal(MAX_SPEED, 2)
    assert.equal(placements[0]!.speed, 2)
    assert.equal(placements[0]!.playedSec, 2.5)
    assert.deepEqual(placements.map((p) => [p.at, p.delaySec]), [[0, 0], [2.5, 1.5], [2.75, 0.75], [10, 0]])
    assert.deepEqual(placements.map((p) => p.speed), [2, 2, 1, 1])
    assert.equal(durationSec, 12)
    assert.equal(planTimeline([0], [10], 2).durationSec, 5, 'an overrun at the end lengthens the output')
    assert.equal(planTimeline([0, 1], [3, 1], 2, { maxSpeed: 3 }).placements[0]!.speed, 3, 'a job may allow more')
    assert.equal(planTimeline([0, 1], [30, 1], 2, { maxSpeed: 10 }).placements[0]!.speed, MAX_SPEED_LIMIT, 'up to the limit')
  })

  it('never lets clips overlap, never starts one early and never passes the cap (seeded random timelines)', () => {
    const rng = xoroshiro128plus(1234)
    for (let run = 0; run < 500; run++) {
      const count = uniformInt(rng, 0, 12)
      const starts: number[] = []
      let at = uniformInt(rng, 0, 3000) / 1000
      for (let i = 0; i < count; i++) { starts.push(at); at += uniformInt(rng, 0, 6000) / 1000 }
      const clips = starts.map(() => uniformInt(rng, 0, 9000) / 1000)
      const source = at + uniformInt(rng, 0, 2000) / 1000
      const cap = uniformInt(rng, 0, 1) === 0 ? MAX_SPEED : 3
      const { placements, durationSec } = planTimeline(starts, clips, source, { maxSpeed: cap })
      placements.forEach((p, i) => {
        const next = placements[i + 1]
        assert.ok(p.at >= starts[i]! - EPS, `clip ${i} not early`)
        assert.ok(p.speed >= 1 && p.speed <= cap, `speed ${p.speed}`)
        assert.ok(Math.abs(p.playedSec - clips[i]! / p.speed) < EPS)
        assert.ok(p.at + p.playedSec <= (next?.at ?? durationSec) + EPS, `clip ${i} ends before the next begins`)
        if (p.delaySec === 0 && p.speed < cap && next) assert.ok(p.at + p.playedSec <= starts[i + 1]! + EPS, 'in sync unless past the cap')
        assert.ok(Math.abs(p.at + p.playedSec + p.padSec - (next?.at ?? durationSec)) < EPS, 'padding fills the gap')
      })
      assert.ok(durationSec >= source - EPS)
    }
  })

  it('chains atempo above 2x, where one instance would drop samples', () => {
    const timeline = planTimeline([0, 1, 2], [3, 1.5, 0.5], 3, { maxSpeed: 3 })
    assert.deepEqual(timeline.placements.map((p) => p.speed), [3, 1.5, 1])
    const [step] = timelineSteps(timeline, ['a.wav', 'b.wav', 'c.wav'], 'out.wav', { dir: '/work', sampleRate: 24_000 })
    const [first, second, third] = step!.script!.text.split(';\n')
    assert.match(first!, /,atempo=2,atempo=1\.5(0*),atrim=end_sample=24000,adelay=0S:all=1\[c0\]$/)
    assert.match(second!, /,atempo=1\.5(0*),atrim=end_sample=24000,adelay=24000S:all=1\[c1\]$/)
    assert.doesNotMatch(third!, /atempo/)
  })
})

/** Runs the steps as the engine does; the output's samples. */
function render (steps: ReturnType<typeof timelineSteps>, out: string): Int16Array {
  for (const step of steps) {
    for (const file of [step.script, step.list]) if (file) fs.writeFileSync(file.path, file.text)
    execFileSync('ffmpeg', step.args)
  }
  const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', out, '-f', 's16le', '-ac', '1', '-ar', '24000', '-'])
  return new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2)
}

describe('speech timeline command', () => {
  it('places each clip at its time, sped up where planned, in one WAV of the planned length; in several runs the same samples', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-timeline-'))
    try {
      const clip = (name: string, seconds: number, rate: number) => {
        const file = path.join(dir, name)
        execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}:duration=${seconds}`, '-ac', '1', file])
        return file
      }
      // Clip 0 (2 s) must fit 1 s: 2x. Clips 1 and 2 play as they are at 1 and 2.5 s, silence between and after.
      const timeline = planTimeline([0, 1, 2.5], [2, 0.5, 0.5], 4)
      assert.deepEqual(timeline.placements.map((p) => p.speed), [2, 1, 1])
      const clips = [clip('a.wav', 2, 16_000), clip('b.wav', 0.5, 22_050), clip('c.wav', 0.5, 8000)]
      const out = path.join(dir, 'speech.wav')
      const steps = timelineSteps(timeline, clips, out, { dir, sampleRate: 24_000 })
      assert.equal(steps.length, 1)
      assert.ok(!steps[0]!.args.some((a) => a.includes('atempo')), 'the graph is in the script, not the argv')
      const samples = render(steps, out)
      assert.equal(samples.length, 4 * 24_000)
      const rms = (from: number, to: number) => {
        let sum = 0
        for (let i = Math.round(from * 24_000); i < Math.round(to * 24_000); i++) sum += (samples[i] ?? 0) ** 2
        return Math.sqrt(sum / ((to - from) * 24_000))
      }
      assert.ok(rms(0.05, 0.95) > 1000, 'sped-up clip 0 plays from 0 to 1 s')
      assert.ok(rms(1.05, 1.45) > 1000, 'clip 1 right after it')
      assert.ok(rms(1.55, 2.45) < 50, 'then silence')
      assert.ok(rms(2.55, 2.95) > 1000, 'clip 2 at its start')
      assert.ok(rms(3.05, 3.95) < 50, 'silence to the end')

      // One clip per run (as past CLIPS_PER_RUN): the stretches join into the same samples.
      const split = timelineSteps(timeline, clips, path.join(dir, 'split.wav'), { dir, sampleRate: 24_000, clipsPerRun: 1 })
      assert.equal(split.length, 4, 'three stretches and the join')
      const joined = render(split, path.join(dir, 'split.wav'))
      assert.equal(joined.length, samples.length)
      let worst = 0
      for (let i = 0; i < samples.length; i++) worst = Math.max(worst, Math.abs(samples[i]! - joined[i]!))
      assert.ok(worst <= 1, `largest difference ${worst}`)

      const silent = render(timelineSteps(planTimeline([], [], 1.5), [], out, { dir, sampleRate: 24_000 }), out)
      assert.equal(silent.length, 1.5 * 24_000)
      assert.ok(silent.every((v) => v === 0))
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
