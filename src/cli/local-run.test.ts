import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { EngineError } from '../engines/engine.ts'
import { probeAudio, runHere } from './local-run.ts'
import { CliError } from './runtime.ts'

const quietStderr = async <T>(run: () => Promise<T>): Promise<T> => {
  const write = process.stderr.write
  process.stderr.write = (() => true) as typeof process.stderr.write
  try { return await run() } finally { process.stderr.write = write }
}

describe('cli: running an engine here', () => {
  it('hands the engine its work directory and a live signal, and answers what it returns', async () => {
    const got = await quietStderr(() => runHere('/tmp/work', async (context) => {
      context.progress(0.5, 'halfway')
      return { workDir: context.workDir, aborted: context.signal.aborted, parallel: context.parallelism > 0 }
    }))
    assert.deepEqual(got, { workDir: '/tmp/work', aborted: false, parallel: true })
  })

  it('turns an engine\'s refusal into the command\'s message, a cancel into "interrupted", and lets other errors through', async () => {
    const failWith = (error: Error) => quietStderr(() => runHere('/tmp/work', async () => { throw error }))
    await assert.rejects(failWith(new EngineError('missing-engine', 'install the Debian package ffmpeg')), (error: unknown) => error instanceof CliError && error.message === 'install the Debian package ffmpeg')
    await assert.rejects(failWith(new EngineError('canceled', 'The job was canceled.')), (error: unknown) => error instanceof CliError && error.message === 'interrupted')
    const bug = new TypeError('a bug')
    await assert.rejects(failWith(bug), (error: unknown) => error === bug)
  })

  it('cancels the run on Ctrl-C, and stops listening for it once the run ends', async () => {
    const before = process.listenerCount('SIGINT')
    const run = quietStderr(() => runHere('/tmp/work', (context) => new Promise((_resolve, reject) => {
      context.signal.addEventListener('abort', () => { reject(new EngineError('canceled', 'The job was canceled.')) })
    })))
    assert.equal(process.listenerCount('SIGINT'), before + 1)
    process.emit('SIGINT', 'SIGINT')
    await assert.rejects(run, /interrupted/)
    assert.equal(process.listenerCount('SIGINT'), before)
  })

  it('refuses a file that holds no audio, and a missing one, before any engine starts', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-local-run-'))
    try {
      const notes = path.join(dir, 'notes.wav')
      fs.writeFileSync(notes, 'not audio at all\n')
      await assert.rejects(probeAudio(notes), (error: unknown) => error instanceof CliError && /notes\.wav is not an audio file ffprobe can read/.test(error.message))
      await assert.rejects(probeAudio(path.join(dir, 'absent.wav')), CliError)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
