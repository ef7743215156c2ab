import { readFile } from 'node:fs/promises'
import { EngineError } from '../engine.ts'
import { runProcess } from '../process.ts'

export const SAMPLE_RATE = 16_000

/** Pure: ffmpeg arguments for the first audio stream as 16 kHz mono 16-bit PCM (raw or WAV). */
export function decodeArgs (input: string, output: string, format: 's16le' | 'wav'): string[] {
  return ['-nostdin', '-hide_banner', '-v', 'error', '-i', input, '-map', '0:a:0',
    '-ac', '1', '-ar', String(SAMPLE_RATE), '-c:a', 'pcm_s16le', '-f', format, '-y', output]
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

/** Raw little-endian 16-bit PCM as samples (copied: a file buffer's offset need not be 2-aligned). */
export async function readPcm (path: string): Promise<Int16Array> {
  const bytes = await readFile(path)
  const samples = new Int16Array(bytes.length >> 1)
  Buffer.from(samples.buffer).set(bytes.subarray(0, samples.length * 2))
  return samples
}
