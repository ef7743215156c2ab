import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { countOutcomes, exactlyOnce, firstRefusal, formatCounts, markdownTable, orphans, sharedBudgetHeld, throughput, type ArtifactRow, type JobRow } from './checks.ts'

const NAMES = ['spectrogram.png', 'waveform.json']
const artifactsOf = (jobId: string, prefix = jobId): ArtifactRow[] => NAMES.map((name) => ({ job_id: jobId, name, object_id: `${prefix}-${name}` }))
const succeeded = (id: string, attempts = 1): JobRow => ({ id, status: 'succeeded', attempts })
const once = (...ids: string[]) => new Map(ids.map((id) => [id, 1]))

describe('exactlyOnce', () => {
  it('accepts every job succeeded once with its artifacts, retries included', () => {
    const verdict = exactlyOnce(['a', 'b'], [succeeded('a'), succeeded('b', 3)], [...artifactsOf('a'), ...artifactsOf('b')], once('a', 'b'), NAMES)
    assert.deepEqual(verdict, { ok: true, problems: [] })
  })

  it('refuses a missing job, a failed one and one that succeeded twice', () => {
    const verdict = exactlyOnce(['a', 'b', 'c'], [{ id: 'b', status: 'failed', attempts: 3 }, succeeded('c')], artifactsOf('c'), new Map([['c', 2]]), NAMES)
    assert.equal(verdict.ok, false)
    assert.deepEqual(verdict.problems, ['job a is missing', 'job b ended failed', 'job c succeeded 2 times'])
  })

  it('refuses a duplicate, a missing artifact and one object shared by two jobs', () => {
    const duplicate = exactlyOnce(['a'], [succeeded('a')], [...artifactsOf('a'), { job_id: 'a', name: 'waveform.json', object_id: 'x' }], once('a'), NAMES)
    assert.match(duplicate.problems[0]!, /job a has artifacts \[spectrogram.png, waveform.json, waveform.json\]/)
    const missing = exactlyOnce(['a'], [succeeded('a')], artifactsOf('a').slice(1), once('a'), NAMES)
    assert.equal(missing.ok, false)
    const shared = exactlyOnce(['a', 'b'], [succeeded('a'), succeeded('b')], [...artifactsOf('a'), ...artifactsOf('b', 'a')], once('a', 'b'), NAMES)
    assert.match(shared.problems[0]!, /object a-spectrogram.png is an artifact of a and of b/)
  })

  it('shows at most five problems and says how many more', () => {
    const ids = Array.from({ length: 8 }, (_, i) => `j${i}`)
    const verdict = exactlyOnce(ids, [], [], new Map(), NAMES)
    assert.equal(verdict.problems.length, 6)
    assert.equal(verdict.problems[5], '… and 3 more')
  })
})

describe('orphans', () => {
  it('accepts rows and objects that agree', () => {
    assert.deepEqual(orphans(['a', 'b'], ['b', 'a']), { ok: true, problems: [], rowsWithoutObject: 0, objectsWithoutRow: 0 })
  })

  it('counts a row without its object and an object without a row', () => {
    const verdict = orphans(['a', 'b'], ['b', 'c', 'd'])
    assert.equal(verdict.ok, false)
    assert.equal(verdict.rowsWithoutObject, 1)
    assert.equal(verdict.objectsWithoutRow, 2)
    assert.deepEqual(verdict.problems[0], 'row names object a, which is not stored')
  })
})

describe('outcome counts', () => {
  it('orders statuses numerically, then the failures', () => {
    assert.equal(formatCounts(countOutcomes([503, 200, 'timeout', 200, 'error', 429])), '200×2 429×1 503×1 error×1 timeout×1')
    assert.equal(formatCounts(new Map()), 'none')
  })
})

describe('shared rate budget', () => {
  const answers = (ok: number) => [...Array.from({ length: ok }, () => 200), 429, 429]

  it('finds the first refusal', () => {
    assert.equal(firstRefusal(answers(30)), 31)
    assert.equal(firstRefusal([200, 200]), undefined)
  })

  it('holds when the refusal comes right after the budget, not after one budget per node', () => {
    assert.equal(sharedBudgetHeld(answers(30), 30), true)
    assert.equal(sharedBudgetHeld(answers(60), 30), false)
    assert.equal(sharedBudgetHeld(answers(29), 30), false)
    assert.equal(sharedBudgetHeld(answers(29), 30, 1), true)
    assert.equal(sharedBudgetHeld(Array.from({ length: 90 }, () => 200), 30), false)
  })
})

describe('throughput', () => {
  it('gives jobs per second and the ratio to the first run', () => {
    const rows = throughput([{ workers: 1, jobs: 60, seconds: 60 }, { workers: 2, jobs: 60, seconds: 40 }])
    assert.equal(rows[0]!.jobsPerSecond, 1)
    assert.equal(rows[0]!.ratio, 1)
    assert.equal(rows[1]!.jobsPerSecond, 1.5)
    assert.equal(rows[1]!.ratio, 1.5)
    assert.deepEqual(throughput([]), [])
  })
})

describe('markdownTable', () => {
  it('writes a header, a rule and escaped cells', () => {
    assert.equal(markdownTable(['a', 'b'], [[1, 'x|y'], ['two\nlines', 2]]), '| a | b |\n| --- | --- |\n| 1 | x\\|y |\n| two lines | 2 |')
  })
})
