import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ProcessError } from '../process/run-process.ts'
import { decodeCheckArgs, decodeCheckPassed, measureArgs, probeArgs, progressSeconds, runTool, type ToolResult } from './probe.ts'

const URLISH = 'http://169.254.169.254/latest.wav'

/** The input of an ffmpeg/ffprobe argv: whitelisted to `file`, named with the `file:` prefix. */
function assertFileOnly (args: string[], path: string) {
  const whitelist = args.indexOf('-protocol_whitelist')
  assert.ok(whitelist >= 0, `no -protocol_whitelist in ${args.join(' ')}`)
  assert.equal(args[whitelist + 1], 'file')
  assert.ok(args.includes(`file:${path}`), `no file: input in ${args.join(' ')}`)
  assert.ok(!args.includes(path), 'the bare path must never be an argument')
}

describe('intake command lines', () => {
  it('read every input through file: with only that protocol allowed', () => {
    for (const args of [probeArgs(URLISH), decodeCheckArgs(URLISH), decodeCheckArgs(URLISH, true), measureArgs(URLISH, 60)]) assertFileOnly(args, URLISH)
    // Options before the input apply to it: the whitelist must come before -i.
    const decode = decodeCheckArgs('/x.wav')
    assert.ok(decode.indexOf('-protocol_whitelist') < decode.indexOf('-i'))
  })

  it('decode the first 30 s with -xerror; only a WAV that runs to its end drops short reads', () => {
    const plain = decodeCheckArgs('/x.flac')
    assert.ok(plain.includes('-xerror'))
    assert.ok(!plain.includes('+discardcorrupt'))
    assert.deepEqual(plain.slice(plain.indexOf('-t'), plain.indexOf('-t') + 2), ['-t', '30'])
    const streamed = decodeCheckArgs('/x.wav', true)
    assert.ok(streamed.includes('-xerror'))
    assert.ok(streamed.indexOf('+discardcorrupt') < streamed.indexOf('-i'), 'a demuxer flag goes before the input')
  })

  it('measure one second past the limit, with progress on stdout', () => {
    const args = measureArgs('/x.flac', 14_400)
    assert.deepEqual(args.slice(args.indexOf('-t'), args.indexOf('-t') + 2), ['-t', '14401'])
    assert.deepEqual(args.slice(args.indexOf('-progress'), args.indexOf('-progress') + 2), ['-progress', 'pipe:1'])
  })
})

const result = (stderr: string, code = 0): ToolResult => ({ code, stdout: '', stderr, timedOut: false })
const SHORT_READ = '[wav @ 0x55] [warning] Packet corrupt (stream = 0, dts = NOPTS), dropping it.'

describe('decodeCheckPassed', () => {
  it('passes an ordinary file only with a clean exit and a silent stderr', () => {
    assert.equal(decodeCheckPassed(result('')), true)
    assert.equal(decodeCheckPassed(result('[mp3float @ 0x1] Header missing\n')), false)
    assert.equal(decodeCheckPassed(result('', 1)), false)
    assert.equal(decodeCheckPassed({ ...result(''), timedOut: true }), false)
  })

  it('passes a WAV that runs to its end with one dropped short read and warnings', () => {
    const stderr = ['[wav @ 0x55] [warning] Ignoring maximum wav data size, file may be invalid', SHORT_READ,
      '[warning] Guessed Channel Layout for Input Stream #0.0 : stereo'].join('\n')
    assert.equal(decodeCheckPassed(result(stderr), true), true)
  })

  it('refuses it with any decoder error, or with more than one short read', () => {
    assert.equal(decodeCheckPassed(result(`${SHORT_READ}\n[mp3float @ 0x1] [error] Header missing`), true), false)
    assert.equal(decodeCheckPassed(result('[adpcm_ima_wav @ 0x1] [error] ERROR: step_index[0] = 18221'), true), false)
    assert.equal(decodeCheckPassed(result('[fatal] x.wav: corrupt input packet in stream 0'), true), false)
    assert.equal(decodeCheckPassed(result(`${SHORT_READ}\n${SHORT_READ}`), true), false)
    assert.equal(decodeCheckPassed(result(SHORT_READ, 1), true), false)
  })
})

describe('progressSeconds', () => {
  it('reads the last out_time_us of -progress output', () => {
    assert.equal(progressSeconds('out_time_us=21333\nprogress=continue\nout_time_us=1500000\nprogress=end\n'), 1.5)
    assert.equal(progressSeconds('out_time_us=N/A\nprogress=end\n'), undefined)
    assert.equal(progressSeconds(''), undefined)
  })
})

describe('runTool', () => {
  it('returns a failure or a timeout as a result for intake to judge', async () => {
    assert.deepEqual(await runTool('sh', ['-c', 'echo out; echo err >&2; exit 2'], 5000), { code: 2, stdout: 'out\n', stderr: 'err\n', timedOut: false })
    assert.deepEqual(await runTool('sh', ['-c', 'echo started; exec sleep 30'], 200), { code: null, stdout: 'started\n', stderr: '', timedOut: true })
  })

  it('stops the tool when its signal aborts, rejecting as aborted rather than judging a result', async () => {
    const stop = new AbortController()
    const running = runTool('sh', ['-c', 'exec sleep 30'], 30_000, 1 << 20, stop.signal)
    stop.abort()
    await assert.rejects(running, (error) => error instanceof ProcessError && error.kind === 'aborted')
  })

  it('rejects a missing tool, for the caller to say what to install', async () => {
    await assert.rejects(runTool('tympan-no-such-ffprobe', [], 5000), (error) => error instanceof ProcessError && error.kind === 'missing')
  })
})
