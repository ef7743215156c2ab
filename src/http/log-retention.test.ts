import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { rotatedFilesToDelete, rotationNumber } from './log-retention.ts'

const target = { stem: 'tympan', extension: 'log' }
const DAY = 86_400_000
const now = Date.parse('2026-12-01T12:00:00Z')
const entry = (n: number, ageDays = 0) => ({ name: `tympan.${n}.log`, mtimeMs: now - ageDays * DAY })

describe('rotationNumber', () => {
  it('reads the number of the names pino-roll writes for the target only', () => {
    assert.equal(rotationNumber('tympan.12.log', target), 12)
    for (const name of ['tympan.log', 'tympan.0.log', 'tympan.x.log', 'tympan.1.log.gz', 'worker.1.log', 'tympan.prod.1.log', 'tympan..log', 'tympan.1.2.log', 'atympan.1.log']) {
      assert.equal(rotationNumber(name, target), undefined, name)
    }
  })
})

describe('rotatedFilesToDelete', () => {
  it('keeps the newest `keep` rotated files by number besides the current one, whatever order they are listed in', () => {
    const entries = [entry(3), entry(7), entry(1), entry(5), entry(6), entry(4), entry(2)]
    assert.deepEqual(rotatedFilesToDelete(entries, target, { current: 'tympan.7.log', keep: 3, maxAgeMs: 0, now }), ['tympan.3.log', 'tympan.2.log', 'tympan.1.log'])
  })

  it('deletes rotated files last written longer ago than maxAgeMs even within `keep`, never the current one', () => {
    const entries = [entry(4, 40), entry(3, 20), entry(2, 31), entry(1, 90)]
    assert.deepEqual(rotatedFilesToDelete(entries, target, { current: 'tympan.4.log', keep: 10, maxAgeMs: 30 * DAY, now }), ['tympan.2.log', 'tympan.1.log'])
  })

  it('with maxAgeMs 0 keeps old files up to `keep`', () => {
    const entries = [entry(3, 0), entry(2, 400), entry(1, 800)]
    assert.deepEqual(rotatedFilesToDelete(entries, target, { current: 'tympan.3.log', keep: 2, maxAgeMs: 0, now }), [])
  })

  it('leaves names of other targets and other files alone', () => {
    const entries = [entry(2), entry(1, 100), { name: 'worker.1.log', mtimeMs: 0 }, { name: 'notes.txt', mtimeMs: 0 }, { name: 'tympan.log', mtimeMs: 0 }]
    assert.deepEqual(rotatedFilesToDelete(entries, target, { current: 'tympan.2.log', keep: 1, maxAgeMs: DAY, now }), ['tympan.1.log'])
  })
})
