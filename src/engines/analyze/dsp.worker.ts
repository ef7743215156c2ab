import { readFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { createAnalysis, type AnalysisOptions } from '../../dsp/analysis.ts'
import type { WorkerReply, WorkerRequest } from './dsp-worker.client.ts'

// The thread behind dsp-worker.client.ts: reads each decoded stretch and feeds the analysis.

const options = workerData as AnalysisOptions
const analysis = createAnalysis(options)

/** Raw float32 (ffmpeg's f32le, this machine's order), whole frames, copied to be 4-aligned. */
function readFloats (path: string, channels: number): Float32Array {
  const bytes = readFileSync(path)
  const floats = new Float32Array(Math.floor(bytes.length / (4 * channels)) * channels)
  new Uint8Array(floats.buffer).set(bytes.subarray(0, floats.length * 4))
  return floats
}

parentPort?.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply
  if (request.type === 'segment') {
    const pcm = readFloats(request.pcm, options.channels)
    analysis.pushPcm(pcm)
    if (request.mono) analysis.pushMono(readFloats(request.mono, 1))
    reply = { type: 'segment-done', frames: pcm.length / options.channels }
  } else {
    reply = { type: 'result', result: analysis.finish() }
  }
  parentPort?.postMessage(reply)
})
