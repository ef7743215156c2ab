import { Worker } from 'node:worker_threads'
import type { ChunkSpan, SeparationMethod, StemName } from '../../dsp/separation/index.ts'
import { EngineError } from '../engine.ts'

export interface ChunkRequest {
  span: ChunkSpan
  /** Planar samples of the chunk, one per channel; transferred, so unusable afterwards. */
  channels: Float32Array[]
  /** Chunk-length arrays the thread writes the stems into (bar the last, which takes the
   *  samples' place); transferred too. */
  spare: Float32Array[]
}

export interface ChunkResult {
  span: ChunkSpan
  /** The chunk's stems, already faded for the cross-fade with its neighbours. */
  stems: Partial<Record<StemName, Float32Array[]>>
}

export interface WorkerSetup {
  sampleRate: number
  stems: 2 | 4
  method: SeparationMethod
  overlap: number
}

export interface SeparationPool {
  /** Resolves once a thread is free, so a reader can hold back instead of queueing chunks. */
  idle: () => Promise<void>
  /** Separates one chunk on a free thread (call after `idle`). */
  run: (request: ChunkRequest) => Promise<ChunkResult>
  close: () => Promise<void>
}

// Samples and spectra are typed arrays outside this limit; the heap holds little else.
const HEAP_LIMIT_MB = 96

interface Slot {
  worker: Worker
  busy?: { resolve: (result: ChunkResult) => void, reject: (error: Error) => void }
}

/**
 * Threads that each separate one chunk at a time: the separation is seconds of arithmetic
 * per chunk, which must neither stall the event loop nor leave cores idle. An aborted signal
 * terminates every thread at once and fails what was running.
 */
export function startSeparationPool (size: number, setup: WorkerSetup, signal: AbortSignal): SeparationPool {
  const slots: Slot[] = []
  const waiting: (() => void)[] = []
  let failure: EngineError | undefined
  let closed = false

  const close = async () => {
    if (closed) return
    closed = true
    signal.removeEventListener('abort', onAbort)
    for (const wake of waiting.splice(0)) wake()
    await Promise.all(slots.map((slot) => slot.worker.terminate()))
  }
  const fail = (error: EngineError) => {
    failure ??= error
    for (const slot of slots) {
      slot.busy?.reject(failure)
      slot.busy = undefined
    }
    void close()
  }
  function onAbort () { fail(new EngineError('canceled', 'The job was canceled.')) }

  for (let i = 0; i < size; i++) {
    const slot: Slot = {
      worker: new Worker(new URL('./separation.worker.ts', import.meta.url), {
        workerData: setup,
        resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MB }
      })
    }
    slot.worker.on('message', (result: ChunkResult) => {
      const busy = slot.busy
      slot.busy = undefined
      busy?.resolve(result)
      waiting.shift()?.()
    })
    slot.worker.on('error', (error) => { fail(new EngineError('transient', 'The separation failed.', { cause: error })) })
    slot.worker.on('exit', () => { if (!closed) fail(new EngineError('transient', 'The separation stopped unexpectedly.')) })
    slots.push(slot)
  }
  signal.addEventListener('abort', onAbort, { once: true })
  if (signal.aborted) onAbort()

  return {
    idle: () => new Promise<void>((resolve, reject) => {
      if (failure) { reject(failure); return }
      if (closed || slots.some((slot) => !slot.busy)) { resolve(); return }
      waiting.push(() => { if (failure) reject(failure); else resolve() })
    }),
    run: (request) => new Promise<ChunkResult>((resolve, reject) => {
      if (failure || closed) { reject(failure ?? new EngineError('transient', 'The separation was closed.')); return }
      const slot = slots.find((s) => !s.busy)
      if (!slot) { reject(new EngineError('transient', 'No separation thread was free.')); return }
      slot.busy = { resolve, reject }
      slot.worker.postMessage(request, [...request.channels, ...request.spare].map((c) => c.buffer as ArrayBuffer))
    }),
    close
  }
}
