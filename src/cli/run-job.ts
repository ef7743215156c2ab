import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../config/load-config.ts'
import { EngineError, type EngineOutput } from '../engines/engine.ts'
import { createEngines } from '../engines/registry.ts'
import type { Transcript } from '../engines/transcribe/transcript.ts'
import { toJson, toSrt, toText, toVtt } from '../engines/transcribe/transcript-formats.ts'
import { mediaTools } from '../media/probe.ts'
import { progressReporter } from './progress.ts'
import { remoteJob } from './remote-job.ts'
import { CliError } from './runtime.ts'

export const JOB_HELP = `tympan transcribe FILE [--format txt|srt|vtt|json] [--language en] [--engine pocketsphinx|whisper] [--out PATH]
tympan analyze FILE [--out DIR]

Runs on this machine with the installed engines, or with --server URL on a remote Tympan
(the API key from --key or, better, the TYMPAN_API_KEY environment variable: a command line
is visible to every user of the machine). Progress goes to stderr, results to stdout or --out.`

const TRANSCRIPT_FORMATS = { txt: 'transcript.txt', srt: 'transcript.srt', vtt: 'transcript.vtt', json: 'transcript.json' } as const
type TranscriptFormat = keyof typeof TRANSCRIPT_FORMATS

function renderLocal (transcript: Transcript, format: TranscriptFormat): string {
  switch (format) {
    case 'txt': return `${toText(transcript)}\n`
    case 'srt': return toSrt(transcript)
    case 'vtt': return toVtt(transcript)
    case 'json': return `${JSON.stringify(toJson(transcript))}\n`
  }
}

async function runLocally (type: 'analyze' | 'transcribe', file: string, params: Record<string, unknown>): Promise<EngineOutput<unknown> & { workDir: string }> {
  const config = loadConfig()
  const engines = createEngines({ whisperBin: config.jobs.whisperBin, whisperModel: config.jobs.whisperModel })
  const probe = await mediaTools().probe(file)
  if (!probe || !probe.streams.some((s) => s.codecType === 'audio')) throw new CliError(`${file} is not an audio file ffprobe can read`)
  const workDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tympan-cli-'))
  const progress = progressReporter()
  const abort = new AbortController()
  const stop = () => { abort.abort() }
  process.once('SIGINT', stop)
  try {
    const context = { progress: progress.update, signal: abort.signal, workDir, parallelism: os.availableParallelism() }
    const input = { path: file, durationSec: probe.durationSec }
    const engine = type === 'analyze' ? engines.analyze : engines.transcribe[(params.engine as 'pocketsphinx' | 'whisper' | undefined) ?? config.jobs.transcribeEngine]
    const output = await engine.run(input, params as never, context)
    return { ...output, workDir }
  } catch (error) {
    await fsp.rm(workDir, { recursive: true, force: true })
    if (error instanceof EngineError) throw new CliError(error.message)
    throw error
  } finally {
    progress.done()
    process.off('SIGINT', stop)
  }
}

async function write (out: string | undefined, body: string | Buffer): Promise<void> {
  if (out) await fsp.writeFile(out, body)
  else process.stdout.write(body)
}

export async function jobCommand (type: 'analyze' | 'transcribe', argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'txt' },
      language: { type: 'string' },
      engine: { type: 'string' },
      out: { type: 'string' },
      server: { type: 'string' },
      key: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) { console.log(JOB_HELP); return }
  const [file] = positionals
  if (!file || positionals.length > 1) throw new CliError(`expected one FILE\n\n${JOB_HELP}`)
  if (!fs.existsSync(file)) throw new CliError(`${file}: no such file`)
  const format = values.format as TranscriptFormat
  if (type === 'transcribe' && !Object.hasOwn(TRANSCRIPT_FORMATS, format)) throw new CliError(`--format must be one of ${Object.keys(TRANSCRIPT_FORMATS).join(', ')}`)
  const params: Record<string, unknown> = type === 'transcribe'
    ? { ...(values.language ? { language: values.language } : {}), ...(values.engine ? { engine: values.engine } : {}) }
    : {}

  if (values.server) {
    const key = values.key ?? process.env.TYMPAN_API_KEY
    if (!key) throw new CliError('--server needs an API key: set TYMPAN_API_KEY (or pass --key)')
    const remote = remoteJob(values.server, key)
    const job = await remote.run(type, file, params, progressReporter())
    if (type === 'transcribe') {
      await write(values.out, await remote.artifact(job.id, TRANSCRIPT_FORMATS[format]))
    } else {
      if (values.out) {
        await fsp.mkdir(values.out, { recursive: true })
        for (const artifact of job.artifacts) await fsp.writeFile(path.join(values.out, artifact.name), await remote.artifact(job.id, artifact.name))
      }
      process.stdout.write(`${JSON.stringify(job.result, null, 2)}\n`)
    }
    return
  }

  const output = await runLocally(type, file, params)
  try {
    if (type === 'transcribe') {
      await write(values.out, renderLocal(output.result as Transcript, format))
    } else {
      if (values.out) {
        await fsp.mkdir(values.out, { recursive: true })
        for (const artifact of output.artifacts) await fsp.copyFile(artifact.path, path.join(values.out, artifact.name))
      }
      process.stdout.write(`${JSON.stringify(output.result, null, 2)}\n`)
    }
  } finally {
    await fsp.rm(output.workDir, { recursive: true, force: true })
  }
}
