import { Worker } from 'node:worker_threads'
import type { AnalysisOptions, AnalysisResult } from '../../dsp/analysis.ts'
import { EngineError } from '../engine.ts'

export type WorkerRequest =
  | { type: 'segment', pcm: string, mono: string | null }
  | { type: 'finish' }

export type WorkerReply =
  | { type: 'segment-done', frames: number }
  | { type: 'result', result: AnalysisResult }

export interface DspWorker {
  /** Feeds one decoded stretch (raw float32 files); resolves with the frames it held. */
  segment: (pcm: string, mono: string | undefined) => Promise<number>
  finish: () => Promise<AnalysisResult>
  /** Stops the thread; safe to call more than once. */
  close: () => Promise<void>
}

// Samples stream through a stretch at a time (as ArrayBuffers, outside this limit); the heap
// keeps only onset envelopes, a pitch histogram and waveform blocks.
const HEAP_LIMIT_MB = 256

/**
 * The DSP runs in its own thread: seconds of number crunching per file must not stall the
 * event loop that serves HTTP and other jobs. An aborted signal terminates the thread at
 * once, even in the middle of a stretch.
 */
export function startDspWorker (options: AnalysisOptions, signal: AbortSignal): DspWorker {
  const worker = new Worker(new URL('./dsp.worker.ts', import.meta.url), {
    workerData: options,
    resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MB }
  })
  let pending: { resolve: (reply: WorkerReply) => void, reject: (error: Error) => void } | undefined
  let failure: EngineError | undefined
  let closed = false

  const close = async () => {
    if (closed) return
    closed = true
    signal.removeEventListener('abort', onAbort)
    await worker.terminate()
  }
  const fail = (error: EngineError) => {
    failure ??= error
    pending?.reject(failure)
    pending = undefined
    void close()
  }
  function onAbort () { fail(new EngineError('canceled', 'The job was canceled.')) }

  worker.on('message', (reply: WorkerReply) => {
    const waiting = pending
    pending = undefined
    waiting?.resolve(reply)
  })
  worker.on('error', (error) => { fail(new EngineError('transient', 'The audio analysis failed.', { cause: error })) })
  worker.on('exit', () => { if (!closed) fail(new EngineError('transient', 'The audio analysis stopped unexpectedly.')) })
  signal.addEventListener('abort', onAbort, { once: true })
  if (signal.aborted) onAbort()

  const request = (message: WorkerRequest) => new Promise<WorkerReply>((resolve, reject) => {
    if (failure || closed) { reject(failure ?? new EngineError('transient', 'The audio analysis was closed.')); return }
    pending = { resolve, reject }
    worker.postMessage(message)
  })

  return {
    async segment (pcm, mono) {
      const reply = await request({ type: 'segment', pcm, mono: mono ?? null })
      return reply.type === 'segment-done' ? reply.frames : 0
    },
    async finish () {
      const reply = await request({ type: 'finish' })
      if (reply.type !== 'result') throw new EngineError('transient', 'The audio analysis answered out of turn.')
      return reply.result
    },
    close
  }
}
