// WAV files for the separation bench: the test set is written as 32-bit float (the stems sum
// to the mixture exactly, with no rounding), the long speed track as 16-bit PCM (what an
// upload usually is), and what the engine writes back is read whatever its sample format.
import fs from 'node:fs'

export interface Audio {
  sampleRate: number
  /** Planar: one array per channel, all of one length. */
  channels: Float32Array[]
}

const PCM = 1
const FLOAT = 3
const EXTENSIBLE = 0xfffe

// A float WAV's fmt chunk carries cbSize (18 bytes) and a fact chunk follows, as the format
// requires of non-PCM data (sox warns without them).
function header (format: number, channels: number, sampleRate: number, bits: number, dataBytes: number): Buffer {
  const blockAlign = channels * bits / 8
  const fmt = Buffer.alloc(format === PCM ? 16 : 18)
  fmt.writeUInt16LE(format, 0)
  fmt.writeUInt16LE(channels, 2)
  fmt.writeUInt32LE(sampleRate, 4)
  fmt.writeUInt32LE(sampleRate * blockAlign, 8)
  fmt.writeUInt16LE(blockAlign, 12)
  fmt.writeUInt16LE(bits, 14)
  const chunk = (id: string, body: Buffer) => {
    const head = Buffer.alloc(8)
    head.write(id, 0, 'ascii')
    head.writeUInt32LE(body.length, 4)
    return Buffer.concat([head, body])
  }
  const fact = format === PCM ? [] : [chunk('fact', Buffer.from(Uint32Array.of(dataBytes / blockAlign).buffer))]
  const data = Buffer.alloc(8)
  data.write('data', 0, 'ascii')
  data.writeUInt32LE(dataBytes, 4)
  const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), ...fact, data])
  const riff = Buffer.alloc(8)
  riff.write('RIFF', 0, 'ascii')
  riff.writeUInt32LE(body.length + dataBytes, 4)
  return Buffer.concat([riff, body])
}

export function writeFloatWav (path: string, audio: Audio): void {
  const { channels } = audio
  const frames = channels[0]!.length
  const data = new Float32Array(frames * channels.length)
  for (let c = 0; c < channels.length; c++) {
    const channel = channels[c]!
    for (let n = 0; n < frames; n++) data[n * channels.length + c] = channel[n]!
  }
  fs.writeFileSync(path, Buffer.concat([header(FLOAT, channels.length, audio.sampleRate, 32, data.byteLength), Buffer.from(data.buffer)]))
}

/** A 16-bit PCM WAV written in pieces: `frames` is known up front, `write` takes planar blocks. */
export function pcm16WavWriter (path: string, channelCount: number, sampleRate: number, frames: number) {
  const fd = fs.openSync(path, 'w')
  fs.writeSync(fd, header(PCM, channelCount, sampleRate, 16, frames * channelCount * 2))
  return {
    write (block: readonly Float32Array[]) {
      const length = block[0]!.length
      const out = Buffer.alloc(length * channelCount * 2)
      for (let n = 0; n < length; n++) {
        for (let c = 0; c < channelCount; c++) {
          const v = Math.max(-1, Math.min(1, block[c]![n]!))
          out.writeInt16LE(Math.round(v * 32767), (n * channelCount + c) * 2)
        }
      }
      fs.writeSync(fd, out)
    },
    close () { fs.closeSync(fd) }
  }
}

/** Reads 16/24/32-bit PCM and 32-bit float WAV (plain or WAVE_FORMAT_EXTENSIBLE). */
export function readWav (path: string): Audio {
  const bytes = fs.readFileSync(path)
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path}: not a WAV file`)
  let format = 0
  let channelCount = 0
  let sampleRate = 0
  let bits = 0
  let at = 12
  while (at + 8 <= bytes.length) {
    const id = bytes.toString('ascii', at, at + 4)
    // ffmpeg writes 0xFFFFFFFF as the data size when it streams; the data then runs to the end.
    const declared = bytes.readUInt32LE(at + 4)
    const size = Math.min(declared, bytes.length - at - 8)
    const body = at + 8
    if (id === 'fmt ') {
      format = bytes.readUInt16LE(body)
      channelCount = bytes.readUInt16LE(body + 2)
      sampleRate = bytes.readUInt32LE(body + 4)
      bits = bytes.readUInt16LE(body + 14)
      if (format === EXTENSIBLE) format = bytes.readUInt16LE(body + 24)
    } else if (id === 'data') {
      if (!channelCount) throw new Error(`${path}: data before fmt`)
      const width = bits / 8
      const frames = Math.floor(size / (width * channelCount))
      const channels = Array.from({ length: channelCount }, () => new Float32Array(frames))
      const read = format === FLOAT && bits === 32
        ? (o: number) => bytes.readFloatLE(o)
        : format === PCM && bits === 16
          ? (o: number) => bytes.readInt16LE(o) / 32768
          : format === PCM && bits === 24
            ? (o: number) => bytes.readIntLE(o, 3) / 8388608
            : format === PCM && bits === 32
              ? (o: number) => bytes.readInt32LE(o) / 2147483648
              : undefined
      if (!read) throw new Error(`${path}: unsupported WAV format ${format}/${bits} bits`)
      // Typed views need aligned offsets, which a WAV's data chunk need not have: copy it first.
      const aligned = new Uint8Array(frames * channelCount * width)
      aligned.set(bytes.subarray(body, body + aligned.length))
      const view = format === FLOAT && bits === 32
        ? new Float32Array(aligned.buffer)
        : format === PCM && bits === 16 ? new Int16Array(aligned.buffer) : undefined
      const scale = format === FLOAT ? 1 : 1 / 32768
      for (let n = 0; n < frames; n++) {
        for (let c = 0; c < channelCount; c++) {
          const i = n * channelCount + c
          channels[c]![n] = view ? view[i]! * scale : read(body + i * width)
        }
      }
      return { sampleRate, channels }
    }
    at = body + size + (size % 2)
  }
  throw new Error(`${path}: no data chunk`)
}
