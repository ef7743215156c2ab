import { open, type FileHandle } from 'node:fs/promises'
import type { StemName } from '../../dsp/separation/index.ts'
import type { ChunkResult } from './separation-worker.client.ts'

export interface StemAssembler {
  /** Takes a chunk's faded stems, in any order; writes out what is complete, in order. */
  add: (result: ChunkResult) => Promise<void>
  /** Resolves when fewer than `limit` chunks wait for their predecessors or the disk. */
  below: (limit: number) => Promise<void>
  /** Closes the files once all is written: how many chunks went in, each stem's energy. */
  finish: () => Promise<{ chunks: number, energy: Record<string, number> }>
  close: () => Promise<void>
  /** Sample frames written so far, in order from the start. */
  readonly written: number
}

/**
 * Joins the chunks of each stem into one raw interleaved float32 file: a chunk's head is added
 * to the tail its predecessor left (the cross-fade), everything before its own tail is
 * written, and the tail waits for the next chunk. Only a tail per stem stays in memory.
 */
export async function stemAssembler (names: StemName[], paths: Record<string, string>, channels: number, overlap: number, release: (array: Float32Array) => void = () => {}): Promise<StemAssembler> {
  const files = new Map<StemName, FileHandle>()
  try {
    for (const name of names) files.set(name, await open(paths[name]!, 'w', 0o600))
  } catch (error) {
    await Promise.all([...files.values()].map((f) => f.close()))
    throw error
  }
  // The tail waiting for the next chunk: one array per stem and channel, refilled each chunk.
  const tails = new Map<StemName, Float32Array[]>(names.map((name) => [name, Array.from({ length: channels }, () => new Float32Array(overlap))]))
  let tailLength = 0
  const energy: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]))
  const ready = new Map<number, ChunkResult>()
  let next = 0
  let written = 0
  let chain = Promise.resolve()
  const waiters: { limit: number, wake: () => void }[] = []

  // One interleaving buffer for every write (writes are sequential): no garbage per chunk.
  let buffer = new Float32Array(0)
  const write = async (name: StemName, parts: Float32Array[], from: number, to: number) => {
    if (to <= from) return
    if (buffer.length < (to - from) * channels) buffer = new Float32Array((to - from) * channels)
    const interleaved = buffer.subarray(0, (to - from) * channels)
    let sum = 0
    for (let c = 0; c < channels; c++) {
      const part = parts[c]!
      for (let n = from; n < to; n++) {
        const v = part[n]!
        interleaved[(n - from) * channels + c] = v
        sum += v * v
      }
    }
    energy[name] = energy[name]! + sum
    await files.get(name)!.write(new Uint8Array(interleaved.buffer, 0, interleaved.byteLength))
  }

  const flush = async () => {
    for (let result = ready.get(next); result; result = ready.get(next)) {
      ready.delete(next)
      const { span } = result
      const keep = span.fadeOut ? Math.min(overlap, result.stems[names[0]!]![0]!.length) : 0
      for (const name of names) {
        const parts = result.stems[name]!
        const tail = tails.get(name)!
        parts.forEach((part, c) => { for (let n = 0; n < tailLength; n++) part[n] = part[n]! + tail[c]![n]! })
        const length = parts[0]!.length
        await write(name, parts, 0, length - keep)
        if (name === names[0]) written += length - keep
        parts.forEach((part, c) => { tail[c]!.set(part.subarray(length - keep)) })
        for (const part of parts) release(part)
      }
      tailLength = keep
      next++
    }
    for (const w of waiters.splice(0)) {
      if (ready.size < w.limit) w.wake()
      else waiters.push(w)
    }
  }

  const close = async () => { await Promise.all([...files.values()].map((f) => f.close())); files.clear() }

  return {
    add (result) {
      ready.set(result.span.index, result)
      chain = chain.then(flush)
      return chain
    },
    below: (limit) => new Promise<void>((resolve) => {
      if (ready.size < limit) resolve()
      else waiters.push({ limit, wake: resolve })
    }),
    async finish () {
      await chain
      await close()
      return { chunks: next, energy }
    },
    close,
    get written () { return written }
  }
}
