/**
 * Chunk-sized sample arrays that circle between the reader, the threads and the assembler
 * instead of being allocated per chunk: a chunk's samples go to a thread, come back as its
 * last stem, are written out and return here, as do the other stems' arrays, which travel to
 * a thread with the next request. Transferred, never copied. Without it every chunk left ~25
 * MB of dead arrays in the main thread, whose garbage collector runs rarely (its JS heap
 * hardly grows), and resident memory went past 300 MiB on a long track.
 */
export interface BufferPool {
  /** An array of `length` (any content): a pooled one if `length` is the chunk length. */
  take: (length: number) => Float32Array
  /** Gives an array back; ones of another length (the last chunk's) are left to the GC. */
  give: (array: Float32Array) => void
}

export function bufferPool (chunkLength: number): BufferPool {
  const free: Float32Array[] = []
  return {
    take: (length) => (length === chunkLength ? free.pop() : undefined) ?? new Float32Array(length),
    give (array) {
      if (array.length === chunkLength && array.byteOffset === 0 && array.buffer.byteLength === 4 * chunkLength) free.push(array)
    }
  }
}
