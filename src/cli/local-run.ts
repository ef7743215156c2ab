import os from 'node:os'
import { EngineError, type EngineContext } from '../engines/engine.ts'
import { mediaTools, type ProbeResult } from '../media/probe.ts'
import { ProcessError } from '../process/run-process.ts'
import { progressReporter } from './progress.ts'
import { CliError } from './runtime.ts'

/**
 * Runs an engine on this machine for a command: progress on stderr, Ctrl-C cancels it (the
 * engine's tools die with the signal), and an engine's refusal becomes the command's message.
 * `run` reads what it needs of `workDir` before this returns; the caller removes the directory.
 */
export async function runHere<T> (workDir: string, run: (context: EngineContext) => Promise<T>): Promise<T> {
  const progress = progressReporter()
  const abort = new AbortController()
  const stop = () => { abort.abort() }
  process.once('SIGINT', stop)
  try {
    return await run({ progress: progress.update, signal: abort.signal, workDir, parallelism: os.availableParallelism() })
  } catch (error) {
    if (error instanceof EngineError) throw new CliError(error.kind === 'canceled' ? 'interrupted' : error.message)
    throw error
  } finally {
    progress.done()
    process.off('SIGINT', stop)
  }
}

/** ffprobe's view of `file`, refused before any engine starts unless it holds audio. */
export async function probeAudio (file: string): Promise<ProbeResult> {
  const probe = await mediaTools().probe(file).catch((error: unknown) => {
    if (error instanceof ProcessError && error.kind === 'missing') throw new CliError('ffprobe is not installed: install the Debian package ffmpeg')
    throw error
  })
  if (!probe || !probe.streams.some((s) => s.codecType === 'audio')) throw new CliError(`${file} is not an audio file ffprobe can read`)
  return probe
}
