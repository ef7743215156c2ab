import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { flatness, samplesFromLog, type Sample } from './verdict.ts'

const MiB = 1024 * 1024
/** One sample every 10 s for `minutes`, from a function of the time in seconds. */
const series = (minutes: number, f: (t: number) => Omit<Sample, 'at'>): Sample[] =>
  Array.from({ length: minutes * 6 + 1 }, (_, i) => ({ at: i * 10, ...f(i * 10) }))
const verdictOf = (samples: Sample[], minutes: number) => Object.fromEntries(flatness(samples, minutes * 60).verdicts.map((v) => [v.measure, v.flat]))

describe('soak flatness rule', () => {
  it('calls a steady server flat, whatever it did during warm-up', () => {
    const samples = series(30, (t) => ({ rss: (t < 300 ? 300 + t : 600) * MiB, heap: 90 * MiB, fds: t < 300 ? 180 : 230 }))
    assert.deepEqual(verdictOf(samples, 30), { rss: true, heap: true, fds: true })
  })

  it('calls a leak growing: RSS, heap floor and descriptors rising through the run', () => {
    const samples = series(30, (t) => ({ rss: (600 + t / 6) * MiB, heap: (80 + t / 20) * MiB, fds: 230 + Math.floor(t / 60) }))
    assert.deepEqual(verdictOf(samples, 30), { rss: false, heap: false, fds: false })
  })

  it('does not mistake a garbage-collection sawtooth longer than a window for growth', () => {
    // Heap used climbs from 80 to 140 MiB over 12 minutes and falls back: the floor stays at 80.
    const samples = series(30, (t) => ({ rss: 600 * MiB, heap: (80 + ((t % 720) / 720) * 60) * MiB, fds: 230 }))
    assert.equal(verdictOf(samples, 30).heap, true)
  })

  it('allows a few descriptors more, not many', () => {
    assert.equal(verdictOf(series(30, (t) => ({ rss: 600 * MiB, heap: 90 * MiB, fds: t > 1500 ? 36 : 30 })), 30).fds, true)
    assert.equal(verdictOf(series(30, (t) => ({ rss: 600 * MiB, heap: 90 * MiB, fds: t > 1500 ? 45 : 30 })), 30).fds, false)
  })

  it('reads the samples a run printed', () => {
    const log = 'fixtures: …\n  0.2 min: rss 611.2 MiB, heap 88.1 MiB, fds 209\n  1.5 min: rss 600.0 MiB, heap 90.5 MiB, fds 230\nsoak: 30 min\n'
    assert.deepEqual(samplesFromLog(log), [
      { at: 12, rss: 611.2 * MiB, heap: 88.1 * MiB, fds: 209 },
      { at: 90, rss: 600 * MiB, heap: 90.5 * MiB, fds: 230 }
    ])
  })
})
