import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseEnv } from '../config/config.ts'
import { createEngines } from '../engines/registry.ts'
import { TRANSCRIBE_QUALITIES, isTranscribeQuality } from '../engines/transcribe/index.ts'
import { JOB_HELP } from './help.ts'
import { probeAudio, runHere } from './local-run.ts'
import { writeWhole, type OutputFile } from './output-files.ts'
import { progressReporter } from './progress.ts'
import { apiKeyFor, remoteJob } from './remote-job.ts'
import { CliError, parseCommandLine } from './runtime.ts'

// Each format is the artifact of that name, here and on a server: the same bytes either way.
const TRANSCRIPT_FORMATS = { txt: 'transcript.txt', srt: 'transcript.srt', vtt: 'transcript.vtt', json: 'transcript.json' } as const
type TranscriptFormat = keyof typeof TRANSCRIPT_FORMATS
const TRANSCRIBE_ENGINES = ['pocketsphinx', 'whisper'] as const
type TranscribeEngine = typeof TRANSCRIBE_ENGINES[number]
type JobType = 'analyze' | 'transcribe'

interface Outcome { result: unknown, files: OutputFile[] }

interface JobOptions {
  file: string
  format: TranscriptFormat
  params: Record<string, unknown>
  out?: string
  server?: string
  key?: string
}

function parseOptions (type: JobType, argv: string[]): JobOptions | 'help' {
  const parsed = parseCommandLine(argv, {
    format: { type: 'string' },
    language: { type: 'string' },
    engine: { type: 'string' },
    quality: { type: 'string' },
    out: { type: 'string' },
    server: { type: 'string' },
    key: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }, JOB_HELP)
  const { values, positionals } = parsed
  if (values.help) return 'help'
  if (positionals.length !== 1) throw new CliError(`expected one FILE\n\n${JOB_HELP}`)
  if (type === 'analyze') {
    const stray = (['format', 'language', 'engine', 'quality'] as const).filter((name) => values[name] !== undefined)
    if (stray.length > 0) throw new CliError(`analyze takes no ${stray.map((name) => `--${name}`).join(', ')} (those are for transcribe)`)
  }
  const format = (values.format ?? 'txt') as TranscriptFormat
  if (!Object.hasOwn(TRANSCRIPT_FORMATS, format)) throw new CliError(`--format must be one of ${Object.keys(TRANSCRIPT_FORMATS).join(', ')}`)
  if (values.engine !== undefined && !(TRANSCRIBE_ENGINES as readonly string[]).includes(values.engine)) {
    throw new CliError(`--engine must be one of ${TRANSCRIBE_ENGINES.join(', ')}`)
  }
  if (values.quality !== undefined && !isTranscribeQuality(values.quality)) {
    throw new CliError(`--quality must be one of ${TRANSCRIBE_QUALITIES.join(', ')}`)
  }
  const params: Record<string, unknown> = {
    ...(values.language ? { language: values.language } : {}),
    ...(values.engine ? { engine: values.engine } : {}),
    ...(values.quality ? { quality: values.quality } : {})
  }
  return {
    file: positionals[0]!,
    format,
    params,
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values.server !== undefined ? { server: values.server } : {}),
    ...(values.key !== undefined ? { key: values.key } : {})
  }
}

/** Refuses what cannot work before any engine or upload runs: a typo costs a second, not a transcription. */
async function checkPaths (type: JobType, file: string, out: string | undefined): Promise<void> {
  const input = await fsp.stat(file).catch(() => undefined)
  if (!input) throw new CliError(`${file}: no such file`)
  if (!input.isFile()) throw new CliError(`${file} is not a file`)
  if (out === undefined) return
  if (out === '') throw new CliError('--out needs a path')
  const target = await fsp.stat(out).catch(() => undefined)
  if (type === 'transcribe') {
    if (target?.isDirectory()) throw new CliError(`--out ${out} is a directory: name the transcript file`)
    const parent = await fsp.stat(path.dirname(path.resolve(out))).catch(() => undefined)
    if (!parent?.isDirectory()) throw new CliError(`--out ${out}: the directory ${path.dirname(out)} does not exist`)
  } else if (target && !target.isDirectory()) {
    throw new CliError(`--out ${out} exists and is not a directory`)
  }
}

async function runLocally (type: JobType, options: JobOptions, wanted: (name: string) => boolean): Promise<Outcome> {
  // parseEnv, not loadConfig: a local run needs no secrets, so it neither generates them into
  // ./data nor refuses to run in production mode for want of them.
  const config = parseEnv(process.env)
  const engines = createEngines({ whisperBin: config.jobs.whisperBin, whisperModel: config.jobs.whisperModel })
  const probe = await probeAudio(options.file)
  const engine = type === 'analyze'
    ? engines.analyze
    : engines.transcribe[(options.params.engine as TranscribeEngine | undefined) ?? config.jobs.transcribeEngine]
  const workDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tympan-cli-'))
  try {
    return await runHere(workDir, async (context) => {
      const output = await engine.run({ path: options.file, durationSec: probe.durationSec }, options.params as never, context)
      const files = await Promise.all(output.artifacts.filter((a) => wanted(a.name)).map(async (a) => ({ name: a.name, body: await fsp.readFile(a.path) })))
      return { result: output.result, files }
    })
  } finally {
    await fsp.rm(workDir, { recursive: true, force: true })
  }
}

async function runRemotely (type: JobType, options: JobOptions & { server: string }, wanted: (name: string) => boolean): Promise<Outcome> {
  const remote = remoteJob(options.server, apiKeyFor(options.key))
  const job = await remote.run(type, options.file, options.params, progressReporter())
  const files: OutputFile[] = []
  for (const artifact of job.artifacts.filter((a) => wanted(a.name))) files.push({ name: artifact.name, body: await remote.artifact(job.id, artifact.name) })
  return { result: job.result, files }
}

export async function jobCommand (type: JobType, argv: string[]): Promise<void> {
  const options = parseOptions(type, argv)
  if (options === 'help') { console.log(JOB_HELP); return }
  await checkPaths(type, options.file, options.out)

  const transcript = TRANSCRIPT_FORMATS[options.format]
  // Analysis artifacts matter only with --out; a transcript only in the format asked for.
  const wanted = (name: string) => type === 'transcribe' ? name === transcript : options.out !== undefined
  const outcome = options.server !== undefined
    ? await runRemotely(type, { ...options, server: options.server }, wanted)
    : await runLocally(type, options, wanted)

  if (type === 'transcribe') {
    const file = outcome.files.find((f) => f.name === transcript)
    if (!file || !('body' in file)) throw new CliError(`the job produced no ${transcript}`)
    if (options.out === undefined) process.stdout.write(file.body)
    else await writeWhole(path.dirname(options.out), [{ name: path.basename(options.out), body: file.body }])
    return
  }
  if (options.out !== undefined) await writeWhole(options.out, outcome.files)
  process.stdout.write(`${JSON.stringify(outcome.result, null, 2)}\n`)
}
