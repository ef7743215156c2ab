import { parentPort, workerData } from 'node:worker_threads'
import { fadeChunk, reusableWorkspace, separateChunk } from '../../dsp/separation/index.ts'
import type { ChunkRequest, ChunkResult, WorkerSetup } from './separation-worker.client.ts'

// The thread behind separation-worker.client.ts: one chunk in, its faded stems out.

const setup = workerData as WorkerSetup
const workspace = reusableWorkspace()

parentPort?.on('message', ({ span, channels, spare }: ChunkRequest) => {
  const stems = separateChunk(channels, setup.sampleRate, { stems: setup.stems, method: setup.method }, { workspace, stems: spare, lastStemInInput: true })
  fadeChunk(stems, span, setup.overlap)
  const reply: ChunkResult = { span, stems }
  parentPort?.postMessage(reply, Object.values(stems).flat().map((c) => c.buffer as ArrayBuffer))
})
