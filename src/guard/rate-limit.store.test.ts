import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it, mock } from 'node:test'
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { memoryStore, type BudgetSpec, type Outcome } from './rate-limit.store.ts'

/** rate-limiter-flexible's answer for the same budget: what the memory store must match. */
function libraryBudget (spec: BudgetSpec) {
  const main = new RateLimiterMemory({ keyPrefix: 'main', points: spec.points, duration: spec.durationSec })
  const limiter = spec.burst ? new BurstyRateLimiter(main, new RateLimiterMemory({ keyPrefix: 'burst', points: spec.burst.points, duration: spec.burst.durationSec })) : main
  const state = (res: RateLimiterRes) => ({ limit: spec.points, remaining: res.remainingPoints, resetMs: res.msBeforeNext })
  return async (key: string): Promise<Outcome> => {
    try {
      return { allowed: true, ...state(await limiter.consume(key)) }
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return { allowed: false, ...state(rejection) }
      throw rejection
    }
  }
}

describe('memoryStore', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 1_000_000 }))
  afterEach(() => mock.timers.reset())

  for (const spec of [
    { name: 'requests', points: 3, durationSec: 2 },
    { name: 'requests', points: 3, durationSec: 2, burst: { points: 2, durationSec: 20 } }
  ] satisfies BudgetSpec[]) {
    it(`answers as rate-limiter-flexible does, request by request (${spec.burst ? 'with' : 'without'} a burst reserve)`, async () => {
      const ours = memoryStore().budget(spec)
      const theirs = libraryBudget(spec)
      // Bursts past the budget and the reserve; a pause to the very millisecond a window ends;
      // a second key whose window opens later; a main window that opens late in the reserve's
      // window (the reserve's then ends first); and pauses past every window.
      const steps: (string | number)[] = ['a', 'a', 'a', 'a', 'a', 'a', 'b', 700, 'a', 'b', 1300, 'a', 'a', 'b', 1999, 'b', 1, 'b',
        15_000, 'a', 'a', 'a', 'a', 'a', 2000, 'a', 'a', 'a', 'a', 'a',
        7000, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 60_000, 'a', 'a', 'a', 'a', 'a', 'a']
      let answers = 0
      for (const step of steps) {
        if (typeof step === 'number') {
          mock.timers.tick(step)
          continue
        }
        const answer = ours.consume(step)
        assert.ok(!(answer instanceof Promise), 'answered without a promise')
        assert.deepEqual(answer, await theirs(step), `request ${answers} (key ${step}) at ${Date.now()}`)
        answers++
      }
      assert.ok(answers > 30)
    })
  }

  it('keeps budgets apart: each spec counts on its own', () => {
    const store = memoryStore()
    const small = store.budget({ name: 'requests', points: 1, durationSec: 60 })
    const large = store.budget({ name: 'requests', points: 5, durationSec: 60 })
    assert.equal((small.consume('k') as Outcome).allowed, true)
    assert.equal((small.consume('k') as Outcome).allowed, false)
    assert.deepEqual(large.consume('k'), { allowed: true, limit: 5, remaining: 4, resetMs: 60_000 })
  })

  it('answers every request with a few map operations, however many windows have just ended', () => {
    const budget = memoryStore().budget({ name: 'requests', points: 10, durationSec: 60 })
    const clients = 10_000
    for (let i = 0; i < clients; i++) budget.consume(`client-${i}`)
    mock.timers.tick(60_000)
    // Counted around each request: nothing else runs while one is answered.
    const methods = ['get', 'set', 'delete', 'clear', 'forEach', 'entries', 'keys', 'values', Symbol.iterator] as const
    const originals = methods.map((name) => Map.prototype[name as 'get'])
    let operations = 0
    methods.forEach((name, index) => {
      const original = originals[index]!
      Map.prototype[name as 'get'] = function (this: Map<unknown, unknown>, ...args: unknown[]) {
        operations++
        return (original as (...a: unknown[]) => unknown).apply(this, args)
      }
    })
    let most = 0
    try {
      for (let i = 0; i < 100; i++) {
        const before = operations
        assert.equal((budget.consume(i % 2 ? `client-${i}` : `next-${i}`) as Outcome).remaining, 9, 'a window that ended is a new one')
        most = Math.max(most, operations - before)
      }
    } finally {
      methods.forEach((name, index) => { Map.prototype[name as 'get'] = originals[index]! })
    }
    assert.ok(most <= 3, `a request made ${most} map operations`)
  })

  it('keeps counting a window opened just before the older windows are dropped, to its very end', () => {
    const budget = memoryStore().budget({ name: 'requests', points: 3, durationSec: 10 })
    budget.consume('a')
    mock.timers.tick(9_999)
    assert.equal((budget.consume('b') as Outcome).remaining, 2)
    mock.timers.tick(1)
    // 'a' ends now and the older windows go; 'b' opened a moment ago and goes on.
    assert.equal((budget.consume('a') as Outcome).remaining, 2)
    assert.deepEqual(budget.consume('b'), { allowed: true, limit: 3, remaining: 1, resetMs: 9_999 })
    mock.timers.tick(9_998)
    assert.deepEqual(budget.consume('b'), { allowed: true, limit: 3, remaining: 0, resetMs: 1 })
    assert.equal((budget.consume('b') as Outcome).allowed, false)
    mock.timers.tick(1)
    assert.deepEqual(budget.consume('b'), { allowed: true, limit: 3, remaining: 2, resetMs: 10_000 })
  })
})
