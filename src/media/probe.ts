import { spawn } from 'node:child_process'

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

/** Runs a media tool with an argv array (never a shell), bounded in time and output. */
export function runTool (binary: string, args: string[], timeoutMs: number, maxOutput = 1 << 20): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
    child.stdout.on('data', (d: Buffer) => { if (stdout.length < maxOutput) stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < maxOutput) stderr += d.toString() })
    child.on('error', (error) => { clearTimeout(timer); reject(error) })
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, timedOut }) })
  })
}

const PROBE_TIMEOUT_MS = 30_000
const DECODE_TIMEOUT_MS = 60_000
// Decoding this much proves the bytes after the header are audio, at a bounded cost.
const DECODE_CHECK_SECONDS = 30

export function mediaTools (options: { ffprobe?: string, ffmpeg?: string } = {}) {
  const ffprobe = options.ffprobe ?? 'ffprobe'
  const ffmpeg = options.ffmpeg ?? 'ffmpeg'
  return {
    /** undefined when ffprobe cannot read the file at all. */
    async probe (file: string): Promise<ProbeResult | undefined> {
      const result = await runTool(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '--', file], PROBE_TIMEOUT_MS)
      if (result.code !== 0 || result.timedOut) return undefined
      try {
        return parseProbe(result.stdout)
      } catch {
        return undefined
      }
    },
    /** True when the first seconds of the first audio stream decode without a single error. */
    async decodes (file: string): Promise<boolean> {
      const result = await runTool(ffmpeg, ['-nostdin', '-v', 'error', '-xerror', '-t', String(DECODE_CHECK_SECONDS), '-i', file, '-map', '0:a:0', '-f', 'null', '-'], DECODE_TIMEOUT_MS)
      return result.code === 0 && !result.timedOut && result.stderr.trim() === ''
    }
  }
}

export type MediaTools = ReturnType<typeof mediaTools>
