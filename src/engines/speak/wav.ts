export interface WavInfo {
  sampleRate: number
  channels: number
  bitsPerSample: number
  /** Bytes of sample data. */
  dataBytes: number
  durationSec: number
}

/**
 * Pure: the format and length of a PCM WAV from its first bytes (enough to reach the `data`
 * chunk's header). Undefined when it is not one: a synthesiser that failed quietly (text2wave
 * exits 0 after a Scheme error) leaves no such header behind.
 */
export function readWavHeader (head: Buffer, fileSize: number): WavInfo | undefined {
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return undefined
  let offset = 12
  let format: Omit<WavInfo, 'dataBytes' | 'durationSec'> | undefined
  while (offset + 8 <= head.length) {
    const id = head.toString('latin1', offset, offset + 4)
    const size = head.readUInt32LE(offset + 4)
    if (id === 'fmt ' && offset + 24 <= head.length) {
      format = { channels: head.readUInt16LE(offset + 10), sampleRate: head.readUInt32LE(offset + 12), bitsPerSample: head.readUInt16LE(offset + 22) }
    }
    if (id === 'data') {
      if (!format || format.sampleRate === 0 || format.channels === 0 || format.bitsPerSample === 0) return undefined
      // A streamed header may say 0 or 0xFFFFFFFF; what the file holds is the truth.
      const dataBytes = Math.max(0, Math.min(size, fileSize - offset - 8))
      const frame = format.channels * (format.bitsPerSample / 8)
      return { ...format, dataBytes, durationSec: dataBytes / frame / format.sampleRate }
    }
    offset += 8 + size + (size % 2)
  }
  return undefined
}
