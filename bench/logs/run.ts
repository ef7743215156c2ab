/**
 * What a log line costs the thread that logs it, for the destinations `tympan serve` could
 * use: pino's default synchronous stdout (what Fastify builds when given logger options, and
 * what Tympan used before), the asynchronous destination of src/http/logger.ts, and the same
 * with LOG_FILE (a second, rotating output through pino.multistream). Each logger writes the
 * request line Tympan writes (same fields, same redaction) to a file under a temporary
 * directory, so that a pipe reader's speed does not decide. Prints lines per second of the
 * logging thread, and the ratio to the synchronous destination in the same run (alternating
 * rounds, medians); the time to write out what the asynchronous ones had buffered is shown
 * apart, as it runs off the request's path.
 *
 *   node bench/logs/run.ts [--lines 100000] [--rounds 5]
 *
 * Last run (18:00 UTC, 2 cores at load average 17, 7 rounds): sync 12,466 lines/s (80 µs a
 * line), async 15,650 (1.26×), async + LOG_FILE 13,454 (1.08×), async without redaction
 * 60,088 (4.82×). The destination matters less than redaction: REDACT_PATHS' wildcard paths
 * (`*.password`…) cost most of a line (top-level paths alone: about 1.3× the plain line).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import pino, { type Logger } from 'pino'
import { parseEnv } from '../../src/config/config.ts'
import { writtenOut } from '../../src/http/log-file.ts'
import { openLogging, pinoOptions } from '../../src/http/logger.ts'
import { printTable } from '../lib/server.ts'

const { values } = parseArgs({ options: { lines: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '5' } } })
const LINES = Number(values.lines)
const ROUNDS = Number(values.rounds)
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bench-logs-'))
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }))

const line = {
  reqId: '6f1c2a4e-8f3b-4c5d-9e7a-1b2c3d4e5f60', method: 'GET', route: '/api/v1/me', url: '/api/v1/me', status: 200, durationMs: 0.4,
  userId: '0b6f3c9e-2a1d-4e8f-b7c6-5d4e3f2a1b0c', keyId: 'c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f', auth: 'api_key', ip: '127.0.0.1', userAgent: 'autocannon', bytes: 187
}

interface Candidate { name: string, open: (round: number) => Promise<{ logger: Logger, flush: () => Promise<void>, close: () => Promise<void> }> }

const config = (round: number, extra: Record<string, string> = {}) => parseEnv({ LOG_LEVEL: 'info', TYMPAN_DATA_DIR: root, ...extra, ...(extra.LOG_FILE ? { LOG_FILE: `${extra.LOG_FILE}-${round}/tympan.log` } : {}) })
const candidates: Candidate[] = [
  {
    name: 'sync stdout (pino default)',
    open: async (round) => {
      const stream = pino.destination({ dest: path.join(root, `sync-${round}.log`), sync: true })
      return { logger: pino(pinoOptions(config(round)), stream), flush: async () => {}, close: async () => { stream.end() } }
    }
  },
  { name: 'async stdout (Tympan)', open: (round) => openLogging(config(round), pino.destination({ dest: path.join(root, `async-${round}.log`), sync: false })) },
  { name: 'async stdout + LOG_FILE (100m)', open: (round) => openLogging(config(round, { LOG_FILE: path.join(root, 'file'), LOG_MAX_SIZE: '100m' }), pino.destination({ dest: path.join(root, `both-${round}.log`), sync: false })) },
  {
    // For scale only, not an option: what the line costs without REDACT_PATHS.
    name: 'async stdout, no redaction',
    open: async (round) => {
      const stream = pino.destination({ dest: path.join(root, `plain-${round}.log`), sync: false })
      const { redact: _redact, ...options } = pinoOptions(config(round))
      const flush = () => writtenOut(stream)
      return { logger: pino(options, stream), flush, close: flush }
    }
  }
]

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const results = new Map(candidates.map((c) => [c.name, { logging: [] as number[], flush: [] as number[] }]))
for (let round = 0; round < ROUNDS; round++) {
  for (const candidate of candidates) {
    const opened = await candidate.open(round)
    const started = process.hrtime.bigint()
    for (let i = 0; i < LINES; i++) opened.logger.info(line, 'request')
    const logged = process.hrtime.bigint()
    await opened.flush()
    const flushed = process.hrtime.bigint()
    await opened.close()
    results.get(candidate.name)!.logging.push(Number(logged - started) / 1e9)
    results.get(candidate.name)!.flush.push(Number(flushed - logged) / 1e9)
  }
}

const base = LINES / median(results.get(candidates[0]!.name)!.logging)
printTable(`${LINES} request lines per round, ${ROUNDS} rounds, medians (${os.availableParallelism()} cores)`, [
  ['destination', 'lines/s of the logging thread', 'ratio', 'µs per line', 'then written out in'],
  ...candidates.map((c) => {
    const r = results.get(c.name)!
    const perSecond = LINES / median(r.logging)
    return [c.name, Math.round(perSecond).toLocaleString('en'), `${(perSecond / base).toFixed(2)}×`, (1e6 / perSecond).toFixed(2), `${(median(r.flush) * 1000).toFixed(0)} ms`]
  })
])
