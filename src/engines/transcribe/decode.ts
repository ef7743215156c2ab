import { createReadStream } from 'node:fs'
import { open, writeFile } from 'node:fs/promises'
import { createLevelMeter } from '../../dsp/silence-split.ts'
import { EngineError } from '../engine.ts'
import { runProcess } from '../process.ts'

export const SAMPLE_RATE = 16_000

/**
 * Pure: ffmpeg arguments for the first audio stream as 16 kHz mono 16-bit PCM (raw or WAV).
 * The input is a client's upload: like intake and the other engines, it is read as `file:`
 * with only that protocol allowed, so neither its path nor a playlist inside it opens
 * anything else.
 */
export function decodeArgs (input: string, output: string, format: 's16le' | 'wav'): string[] {
  return ['-nostdin', '-hide_banner', '-v', 'error', '-protocol_whitelist', 'file', '-i', `file:${input}`, '-map', '0:a:0',
    '-ac', '1', '-ar', String(SAMPLE_RATE), '-c:a', 'pcm_s16le', '-f', format, '-y', `file:${output}`]
}

/**
 * Decodes with ffmpeg. A file ffmpeg cannot read will never become readable, so its failure is
 * `invalid-input`; only a full disk is worth another attempt.
 */
export async function decodeAudio (input: string, output: string, format: 's16le' | 'wav', options: { signal: AbortSignal, durationSec: number }): Promise<void> {
  try {
    await runProcess('ffmpeg', decodeArgs(input, output, format), {
      signal: options.signal,
      timeoutMs: 60_000 + options.durationSec * 1000,
      pkg: 'ffmpeg'
    })
  } catch (error) {
    const diskFull = error instanceof Error && /No space left/i.test(String((error.cause as Error | undefined)?.message))
    if (error instanceof EngineError && error.kind === 'transient' && !diskFull) {
      throw new EngineError('invalid-input', 'The audio could not be decoded.', { cause: error })
    }
    throw error
  }
}

/**
 * Frame levels of a raw 16-bit PCM file, read in 1 MiB pieces: hours of audio are judged
 * without ever sitting in memory (a 4-hour file would be 460 MB of samples).
 */
export async function measurePcm (path: string): Promise<{ levels: Float64Array, samples: number }> {
  const meter = createLevelMeter(SAMPLE_RATE)
  let carry: Buffer | undefined
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const bytes = carry ? Buffer.concat([carry, chunk]) : chunk
    const usable = bytes.length & ~1
    carry = usable < bytes.length ? bytes.subarray(usable) : undefined
    // Copied: a file buffer's offset need not be 2-aligned for an Int16Array view.
    const samples = new Int16Array(usable >> 1)
    Buffer.from(samples.buffer).set(bytes.subarray(0, usable))
    meter.push(samples)
  }
  return meter.finish()
}

/** Writes samples [start, end) of a raw 16-bit PCM file to `out` (one segment, at most ~1 MB). */
export async function copyPcmRange (path: string, range: { start: number, end: number }, out: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc((range.end - range.start) * 2)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, range.start * 2)
    await writeFile(out, buffer.subarray(0, bytesRead))
  } finally {
    await handle.close()
  }
}
