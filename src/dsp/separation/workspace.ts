/**
 * Where the separation takes its large per-chunk arrays (magnitude, masks, similarity matrix).
 * A thread that separates chunk after chunk reuses one buffer per role: otherwise each chunk
 * leaves ~30 MB of dead typed arrays outside the JS heap, which V8 collects late, and measured
 * resident memory grew by that much per thread.
 */
export interface Workspace {
  /** A zeroed array of `length` for `role`, valid until the same role is asked for again. */
  float32: (role: string, length: number) => Float32Array
  uint16: (role: string, length: number) => Uint16Array
  int32: (role: string, length: number) => Int32Array
}

/** Fresh arrays every time: for a single separation, where nothing would be reused. */
export const freshArrays: Workspace = {
  float32: (_role, length) => new Float32Array(length),
  uint16: (_role, length) => new Uint16Array(length),
  int32: (_role, length) => new Int32Array(length)
}

/** A workspace that keeps one buffer per role, grown to the largest chunk seen. */
export function reusableWorkspace (): Workspace {
  const buffers = new Map<string, ArrayBuffer>()
  const bytes = (role: string, size: number) => {
    let buffer = buffers.get(role)
    if (!buffer || buffer.byteLength < size) {
      buffer = new ArrayBuffer(size)
      buffers.set(role, buffer)
    }
    return buffer
  }
  return {
    float32: (role, length) => new Float32Array(bytes(role, 4 * length), 0, length).fill(0),
    uint16: (role, length) => new Uint16Array(bytes(role, 2 * length), 0, length).fill(0),
    int32: (role, length) => new Int32Array(bytes(role, 4 * length), 0, length).fill(0)
  }
}
