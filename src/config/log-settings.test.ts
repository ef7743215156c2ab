import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, it } from 'node:test'
import { parseLogFile, parseLogSize } from './log-settings.ts'

describe('parseLogSize', () => {
  for (const [text, bytes] of [['100k', 100 * 1024], ['10m', 10 * 1024 ** 2], ['1g', 1024 ** 3], ['10M', 10 * 1024 ** 2], ['100MB', 100 * 1024 ** 2], ['5MiB', 5 * 1024 ** 2], ['1k', 1024], ['64g', 64 * 1024 ** 3]] as const) {
    it(`reads ${text} as ${bytes} bytes`, () => { assert.equal(parseLogSize(text), bytes) })
  }
  for (const text of ['10', '10x', '1.5m', '-1m', '0k', '10 m', 'm', '', '1t', '65g', '010m', '10mbytes', '1e3k']) {
    it(`refuses ${JSON.stringify(text)}, naming LOG_MAX_SIZE and the value`, () => {
      const result = parseLogSize(text)
      assert.ok(typeof result === 'object', `${text} was read as ${String(result)}`)
      assert.match(result.problem, /^LOG_MAX_SIZE must be/)
      assert.ok(result.problem.includes(JSON.stringify(text)))
    })
  }
})

describe('parseLogFile', () => {
  it('splits the name into the stem and extension pino-roll numbers between', () => {
    assert.deepEqual(parseLogFile('/var/log/tympan/tympan.log'), { path: '/var/log/tympan/tympan.log', dir: '/var/log/tympan', stem: 'tympan', extension: 'log' })
    assert.deepEqual(parseLogFile('/var/log/tympan/api.prod.jsonl'), { path: '/var/log/tympan/api.prod.jsonl', dir: '/var/log/tympan', stem: 'api.prod', extension: 'jsonl' })
  })

  it('adds .log to a name without an extension, or with one pino-roll would drop', () => {
    assert.equal((parseLogFile('/var/log/tympan/worker') as { extension: string }).extension, 'log')
    assert.deepEqual(parseLogFile('/srv/logs/app.x'), { path: '/srv/logs/app.x', dir: '/srv/logs', stem: 'app.x', extension: 'log' })
  })

  it('resolves a relative path against the working directory', () => {
    assert.equal((parseLogFile('logs/tympan.log') as { dir: string }).dir, path.resolve('logs'))
  })

  for (const value of ['/var/log/tympan/', '/var/log/ty<mpan.log', '/var/log/tympan|x.log', '/var/log/a:b/tympan.log', '/var/log/tympan/.log', '/var/log/tympan/name..log', '/var/log/tympan/line\nbreak.log', '/var/log/tympan/spa ce.log']) {
    it(`refuses ${JSON.stringify(value)}, naming LOG_FILE`, () => {
      const result = parseLogFile(value)
      assert.ok('problem' in result, `${value} was accepted as ${JSON.stringify(result)}`)
      assert.match(result.problem, /^LOG_FILE must be/)
    })
  }
})
