import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createPeakCollector } from './peaks.ts'

const f32 = (values: number[]) => values.map(Math.fround)

describe('createPeakCollector', () => {
  it('keeps the min and max of each bucket, per channel', () => {
    const collector = createPeakCollector({ channels: 2, maxBlocks: 64 })
    // Left ramps 0…0.7, right is its negative; 8 frames in 4 buckets of 2.
    collector.push(Float32Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? 1 : -1) * Math.floor(i / 2) / 10))
    const [left, right] = collector.buckets(4)
    assert.deepEqual(Array.from(left!.min), f32([0, 0.2, 0.4, 0.6]))
    assert.deepEqual(Array.from(left!.max), f32([0.1, 0.3, 0.5, 0.7]))
    assert.deepEqual(Array.from(right!.min), f32([-0.1, -0.3, -0.5, -0.7]))
    assert.equal(right!.channel, 1)
  })

  it('merges blocks in pairs when they are full, and the buckets come out the same', () => {
    // A ramp alternating in sign: a bucket's max is where it ends, give or take a block.
    const signal = Float32Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? 1 : -1) * (i / 10_000))
    const roomy = createPeakCollector({ channels: 1, maxBlocks: 20_000 })
    const tight = createPeakCollector({ channels: 1, maxBlocks: 80 })
    roomy.push(signal)
    for (let at = 0; at < signal.length; at += 333) tight.push(signal.subarray(at, at + 333))
    // 10 000 samples in at most 80 blocks: 79 blocks of 128 samples, 10 buckets of ~8 blocks.
    const [exact] = roomy.buckets(10)
    const [merged] = tight.buckets(10)
    for (let b = 0; b < 10; b++) {
      assert.ok(Math.abs(merged!.max[b]! - exact!.max[b]!) < 0.02, `bucket ${b}: ${merged!.max[b]} vs ${exact!.max[b]}`)
      assert.ok(Math.abs(merged!.min[b]! - exact!.min[b]!) < 0.02)
    }
    assert.equal(Math.max(...merged!.max), Math.max(...signal), 'the loudest sample survives every merge')
  })

  it('stretches a few blocks over more buckets', () => {
    const collector = createPeakCollector({ channels: 1, maxBlocks: 64 })
    collector.push(Float32Array.from([0.1, -0.2, 0.3, -0.4]))
    const [eight] = collector.buckets(8)
    assert.deepEqual(Array.from(eight!.max), f32([0.1, 0.1, -0.2, -0.2, 0.3, 0.3, -0.4, -0.4]))
  })

  it('gives empty arrays for no audio, and refuses partial frames and odd limits', () => {
    assert.equal(createPeakCollector({ channels: 1, maxBlocks: 64 }).buckets(10)[0]!.min.length, 0)
    assert.throws(() => createPeakCollector({ channels: 2, maxBlocks: 64 }).push(new Float32Array(3)), RangeError)
    assert.throws(() => createPeakCollector({ channels: 1, maxBlocks: 7 }), RangeError)
  })
})
