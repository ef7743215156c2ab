import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseEnv } from '../config/config.ts'
import { EngineError } from '../engines/engine.ts'
import { createEngines } from '../engines/registry.ts'
import { TRANSCRIBE_QUALITIES, isTranscribeQuality } from '../engines/transcribe/index.ts'
import { HttpProblem } from '../http/problem.ts'
import { checkTranslate } from '../modules/jobs/jobs.checks.ts'
import { SPEECH_TRANSLATE_HELP } from './help.ts'
import { probeAudio, runHere } from './local-run.ts'
import { writeWhole, type OutputFile } from './output-files.ts'
import { progressReporter } from './progress.ts'
import { apiKeyFor, remoteJob } from './remote-job.ts'
import { CliError, parseCommandLine } from './runtime.ts'

const ENGINES = ['pocketsphinx', 'whisper'] as const

interface Options {
  file: string
  params: Record<string, unknown>
  out?: string
  server?: string
  key?: string
}

function parseOptions (argv: string[]): Options | 'help' {
  const parsed = parseCommandLine(argv, {
    to: { type: 'string' },
    from: { type: 'string' },
    speak: { type: 'boolean', default: false },
    voice: { type: 'string' },
    'max-speed': { type: 'string' },
    engine: { type: 'string' },
    quality: { type: 'string' },
    out: { type: 'string' },
    server: { type: 'string' },
    key: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }, SPEECH_TRANSLATE_HELP)
  const { values, positionals } = parsed
  if (values.help) return 'help'
  if (positionals.length !== 1) throw new CliError(`expected one FILE\n\n${SPEECH_TRANSLATE_HELP}`)
  if (!values.to) throw new CliError(`--to is required: the language to translate into (es, fr, …)\n\n${SPEECH_TRANSLATE_HELP}`)
  if (values.speak && values.out === undefined) throw new CliError('--speak needs --out DIR: the speech is a file (speech.wav)')
  if (values.voice !== undefined && !values.speak) throw new CliError('--voice needs --speak')
  if (values.engine !== undefined && !(ENGINES as readonly string[]).includes(values.engine)) throw new CliError(`--engine must be one of ${ENGINES.join(', ')}`)
  if (values.quality !== undefined && !isTranscribeQuality(values.quality)) throw new CliError(`--quality must be one of ${TRANSCRIBE_QUALITIES.join(', ')}`)
  const maxSpeed = values['max-speed'] === undefined ? undefined : Number(values['max-speed'])
  if (maxSpeed !== undefined && !(maxSpeed >= 1 && maxSpeed <= 4)) throw new CliError('--max-speed must be a number from 1 to 4')
  const params: Record<string, unknown> = {
    target_lang: values.to,
    ...(values.from ? { source_lang: values.from } : {}),
    ...(values.speak ? { speak: true } : {}),
    ...(values.voice ? { voice: values.voice } : {}),
    ...(maxSpeed !== undefined ? { max_speed: maxSpeed } : {}),
    ...(values.engine ? { engine: values.engine } : {}),
    ...(values.quality ? { quality: values.quality } : {})
  }
  return {
    file: positionals[0]!,
    params,
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values.server !== undefined ? { server: values.server } : {}),
    ...(values.key !== undefined ? { key: values.key } : {})
  }
}

async function checkPaths (file: string, out: string | undefined): Promise<void> {
  const input = await fsp.stat(file).catch(() => undefined)
  if (!input?.isFile()) throw new CliError(`${file}: no such file`)
  if (out === undefined) return
  if (out === '') throw new CliError('--out needs a path')
  const target = await fsp.stat(out).catch(() => undefined)
  if (target && !target.isDirectory()) throw new CliError(`--out ${out} exists and is not a directory`)
}

/** Runs in `workDir`; the files stay there (speech of an hour is a large WAV) until the caller is done. */
async function runLocally (options: Options, workDir: string): Promise<{ result: unknown, files: OutputFile[] }> {
  // parseEnv, not loadConfig: a local run needs no secrets (see run-job.ts).
  const config = parseEnv(process.env)
  const engines = createEngines({ whisperBin: config.jobs.whisperBin, whisperModel: config.jobs.whisperModel })
  // The server's create-time checks, so a hopeless run stops before the recogniser starts.
  const languages = await checkTranslate(options.params as { target_lang: string }, config.jobs.transcribeEngine, {
    pairs: async () => (await engines.translate.languages()).pairs,
    recogniser: async (name) => engines.transcribe[name as keyof typeof engines.transcribe]?.status(),
    voices: () => engines.synthesiser.voices()
  }).catch((error: unknown) => {
    if (error instanceof HttpProblem) throw new CliError(error.message.replaceAll('params.', '--').replace('--target_lang', '--to').replace('--source_lang', '--from'))
    if (error instanceof EngineError) throw new CliError(error.message)
    throw error
  })
  const probe = await probeAudio(options.file)
  const params = { ...options.params, source_lang: languages.source, target_lang: languages.target, engine: (options.params.engine as string | undefined) ?? config.jobs.transcribeEngine }
  return runHere(workDir, async (context) => {
    const output = await engines.translateSpeech.run({ path: options.file, durationSec: probe.durationSec }, params as never, context)
    return { result: output.result, files: output.artifacts.map((a) => ({ name: a.name, from: a.path })) }
  })
}

async function runRemotely (options: Options & { server: string }): Promise<{ result: unknown, files: OutputFile[] }> {
  const remote = remoteJob(options.server, apiKeyFor(options.key))
  const job = await remote.run('translate', options.file, options.params, progressReporter())
  const wanted = job.artifacts.filter((a) => options.out !== undefined || a.name === 'translation.txt')
  const files: OutputFile[] = []
  for (const artifact of wanted) files.push({ name: artifact.name, body: await remote.artifact(job.id, artifact.name) })
  return { result: job.result, files }
}

/**
 * `tympan translate FILE --to LANG`: the speech translated, here or on a server. Without
 * --out it prints the translated text; with it, every file of the job goes into the
 * directory (written whole, only when the run succeeds) and the result is printed.
 */
export async function speechTranslateCommand (argv: string[]): Promise<void> {
  const options = parseOptions(argv)
  if (options === 'help') { console.log(SPEECH_TRANSLATE_HELP); return }
  await checkPaths(options.file, options.out)
  const workDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tympan-cli-'))
  try {
    const outcome = options.server !== undefined ? await runRemotely({ ...options, server: options.server }) : await runLocally(options, workDir)
    if (options.out === undefined) {
      const text = outcome.files.find((f) => f.name === 'translation.txt')
      if (!text) throw new CliError('the job produced no translation.txt')
      process.stdout.write('body' in text ? text.body : await fsp.readFile(text.from))
      return
    }
    await writeWhole(options.out, outcome.files)
    process.stdout.write(`${JSON.stringify(outcome.result, null, 2)}\n`)
  } finally {
    await fsp.rm(workDir, { recursive: true, force: true })
  }
}
