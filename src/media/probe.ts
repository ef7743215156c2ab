import { ProcessError, runProcess } from '../process/run-process.ts'

export interface ProbeStream {
  codecType: string
  codecName: string
  sampleRate: number
  channels: number
  attachedPicture: boolean
  bitsPerSample: number
  durationSec: number
}

export interface ProbeResult {
  formatName: string
  durationSec: number
  bitRate: number
  streams: ProbeStream[]
}

const num = (value: unknown): number => {
  const n = typeof value === 'string' || typeof value === 'number' ? Number(value) : NaN
  return Number.isFinite(n) ? n : 0
}

/** Pure: ffprobe's JSON (`-show_format -show_streams`) to the few facts intake judges. */
export function parseProbe (json: string): ProbeResult {
  const data = JSON.parse(json) as { format?: Record<string, unknown>, streams?: Record<string, unknown>[] }
  const format = data.format ?? {}
  return {
    formatName: String(format.format_name ?? ''),
    durationSec: num(format.duration),
    bitRate: num(format.bit_rate),
    streams: (data.streams ?? []).map((s) => ({
      codecType: String(s.codec_type ?? ''),
      codecName: String(s.codec_name ?? ''),
      sampleRate: num(s.sample_rate),
      channels: num(s.channels),
      attachedPicture: num((s.disposition as Record<string, unknown> | undefined)?.attached_pic) === 1,
      bitsPerSample: num(s.bits_per_sample),
      durationSec: num(s.duration)
    }))
  }
}

export interface ToolResult {
  code: number | null
  stdout: string
  stderr: string
  timedOut: boolean
}

/**
 * Runs a media tool through the process runner, bounded in time and output. A failed or timed
 * out run is a result, not an error: intake judges it (unreadable, too slow to measure). A
 * missing binary rejects with the runner's `missing` error.
 */
export async function runTool (binary: string, args: string[], timeoutMs: number, maxOutput = 1 << 20, signal?: AbortSignal): Promise<ToolResult> {
  try {
    const { exitCode, stdout, stderr } = await runProcess(binary, args, { timeoutMs, maxOutput, allowFailure: true, ...(signal ? { signal } : {}) })
    return { code: exitCode, stdout, stderr, timedOut: false }
  } catch (error) {
    if (error instanceof ProcessError && error.kind === 'timeout') return { code: null, stdout: error.stdout, stderr: error.stderr, timedOut: true }
    throw error
  }
}

const PROBE_TIMEOUT_MS = 30_000
const DECODE_TIMEOUT_MS = 60_000
// Decoding this much proves the bytes after the header are audio, at a bounded cost.
const DECODE_CHECK_SECONDS = 30
// Decoding a whole file to learn its length: FLAC and WAV decode at several hundred times
// real time, so the 4 h default limit takes well under this on one core.
const MEASURE_TIMEOUT_MS = 120_000

/**
 * Every intake command reads its input through the `file:` protocol with only that protocol
 * allowed (as the analysis does): a name that looks like a URL or a playlist inside the file
 * cannot make ffprobe or ffmpeg open anything else.
 */
const input = (path: string) => ['-protocol_whitelist', 'file', '-i', `file:${path}`]

/** Pure: ffprobe's command line for the facts parseProbe reads. */
export function probeArgs (path: string): string[] {
  return ['-v', 'error', '-protocol_whitelist', 'file', '-print_format', 'json', '-show_format', '-show_streams', `file:${path}`]
}

/**
 * Pure: ffmpeg's command line for the decode check of the first seconds. `untilEnd` is a WAV
 * whose data chunk has no length (written to a pipe): the demuxer then reads until the file
 * ends, and its last read comes back short, which it flags as a corrupt packet. That flag
 * comes only from a short read (av_get_packet), so the check drops flagged packets and logs
 * them as warnings, which decodeCheckPassed counts; a decoder error anywhere in the data
 * still stops -xerror.
 */
export function decodeCheckArgs (path: string, untilEnd = false): string[] {
  return ['-nostdin', '-nostats', ...(untilEnd ? ['-loglevel', 'level+warning', '-fflags', '+discardcorrupt'] : ['-v', 'error']),
    '-xerror', ...input(path), '-map', '0:a:0', '-t', String(DECODE_CHECK_SECONDS), '-f', 'null', '-']
}

/**
 * Pure: did the decode check pass? For an ordinary file, a clean exit with nothing on stderr.
 * For a WAV that runs until the end, also nothing at error level and at most one short read
 * (the last one; a regular file has only one end).
 */
export function decodeCheckPassed (result: ToolResult, untilEnd = false): boolean {
  if (result.code !== 0 || result.timedOut) return false
  if (!untilEnd) return result.stderr.trim() === ''
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '')
  if (lines.some((line) => /^(\[[^\]]*\] )?\[(error|fatal|panic)\]/.test(line))) return false
  return lines.filter((line) => line.includes('Packet corrupt')).length <= 1
}

/**
 * Pure: ffmpeg's command line that decodes the whole audio stream to learn its length (for a
 * container that does not say it), stopping one second past `maxSec`: beyond that the
 * answer is "too long" whatever the rest holds. Progress goes to stdout once at the start
 * and once at the end.
 */
export function measureArgs (path: string, maxSec: number): string[] {
  return ['-nostdin', '-nostats', '-v', 'error', ...input(path), '-map', '0:a:0', '-t', String(maxSec + 1),
    '-progress', 'pipe:1', '-stats_period', '3600', '-f', 'null', '-']
}

/** Pure: the seconds decoded, from the last `out_time_us` of ffmpeg's `-progress` output. */
export function progressSeconds (stdout: string): number | undefined {
  const times = [...stdout.matchAll(/^out_time_us=(\d+)$/gm)]
  const last = times.at(-1)
  return last ? Number(last[1]) / 1e6 : undefined
}

export type Measured = { durationSec: number } | { timedOut: true } | undefined

export function mediaTools (options: { ffprobe?: string, ffmpeg?: string } = {}) {
  const ffprobe = options.ffprobe ?? 'ffprobe'
  const ffmpeg = options.ffmpeg ?? 'ffmpeg'
  return {
    /** undefined when ffprobe cannot read the file at all. */
    async probe (file: string): Promise<ProbeResult | undefined> {
      const result = await runTool(ffprobe, probeArgs(file), PROBE_TIMEOUT_MS)
      if (result.code !== 0 || result.timedOut) return undefined
      try {
        return parseProbe(result.stdout)
      } catch {
        return undefined
      }
    },
    /**
     * True when the first seconds of the first audio stream decode without a single error.
     * `signal` stops ffmpeg (the promise then rejects with the runner's `aborted` error).
     */
    async decodes (file: string, untilEnd = false, signal?: AbortSignal): Promise<boolean> {
      return decodeCheckPassed(await runTool(ffmpeg, decodeCheckArgs(file, untilEnd), DECODE_TIMEOUT_MS, 1 << 20, signal), untilEnd)
    },
    /**
     * The length of the first audio stream by decoding it, at most `maxSec` + 1 s; undefined
     * when it does not decode.
     */
    async measure (file: string, maxSec: number): Promise<Measured> {
      const result = await runTool(ffmpeg, measureArgs(file, maxSec), MEASURE_TIMEOUT_MS, 64 * 1024)
      if (result.timedOut) return { timedOut: true }
      const seconds = progressSeconds(result.stdout)
      return result.code === 0 && seconds !== undefined ? { durationSec: seconds } : undefined
    }
  }
}

export type MediaTools = ReturnType<typeof mediaTools>
