import { Writable } from 'node:stream'
import { chunkAt, lastChunkReach, type ChunkGeometry } from '../../dsp/separation/index.ts'
import type { BufferPool } from './buffer-pool.ts'
import type { ChunkRequest } from './separation-worker.client.ts'

const PIECE_FRAMES = 16_384

export interface ChunkReader extends Writable {
  /** Sample frames read so far. */
  readonly frames: number
  readonly chunks: number
}

/**
 * A sink for ffmpeg's interleaved float32 that cuts the stream into the separation's
 * overlapping chunks (planar, one array per channel) and hands each to `onChunk`, whose
 * promise holds the stream back: the decoder waits while every thread is busy, so memory
 * holds a chunk per thread and the reader's own window, however long the file.
 */
export function chunkReader (channels: number, g: ChunkGeometry, pool: BufferPool, onChunk: (request: Omit<ChunkRequest, 'spare'>) => Promise<void>): ChunkReader {
  const reach = lastChunkReach(g)
  // The window: the longest last chunk and one more sample, plus room for part of a piece (a
  // piece that does not fit is taken in parts, a chunk cut in between).
  const capacity = reach + PIECE_FRAMES
  const buffers = Array.from({ length: channels }, () => new Float32Array(capacity))
  const frameBytes = 4 * channels
  let filled = 0
  let start = 0
  let index = 0
  let frames = 0
  let carry = Buffer.alloc(0)

  const emit = async (length: number, remaining: number) => {
    const span = chunkAt(index, start, remaining, g)
    await onChunk({ span, channels: buffers.map((b) => { const copy = pool.take(length); copy.set(b.subarray(0, length)); return copy }) })
    index++
  }

  const take = async (bytes: Buffer) => {
    const data = carry.length > 0 ? Buffer.concat([carry, bytes]) : bytes
    const whole = Math.floor(data.length / frameBytes)
    carry = Buffer.from(data.subarray(whole * frameBytes))
    let at = 0
    while (at < whole) {
      const count = Math.min(whole - at, capacity - filled)
      for (let i = 0; i < count; i++) {
        const offset = (at + i) * frameBytes
        for (let c = 0; c < channels; c++) buffers[c]![filled + i] = data.readFloatLE(offset + 4 * c)
      }
      filled += count
      frames += count
      at += count
      // More than the last chunk's reach is buffered: the chunk at `start` is not the last one.
      while (filled > reach) {
        await emit(g.step + g.overlap, filled)
        for (const b of buffers) b.copyWithin(0, g.step, filled)
        filled -= g.step
        start += g.step
      }
    }
  }

  const writable = new Writable({
    write (bytes: Buffer, _encoding, done) {
      take(bytes).then(() => { done() }, done)
    },
    final (done) {
      const last = filled > 0 ? emit(filled, filled) : Promise.resolve()
      last.then(() => { done() }, done)
    }
  })
  return Object.defineProperties(writable, {
    frames: { get: () => frames },
    chunks: { get: () => index }
  }) as ChunkReader
}
