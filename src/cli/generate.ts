import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseEnv } from '../config/config.ts'
import { checkGenerateParams, type GenerateParams } from '../engines/generate/index.ts'
import { createEngines } from '../engines/registry.ts'
import { GENERATE_HELP } from './help.ts'
import { runHere } from './local-run.ts'
import { writeWhole } from './output-files.ts'
import { progressReporter } from './progress.ts'
import { apiKeyFor, remoteJob } from './remote-job.ts'
import { CliError, parseCommandLine } from './runtime.ts'

const DEFAULT_DURATION_SEC = 30

interface Options {
  params: GenerateParams
  out: string
  server?: string
  key?: string
}

const number = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value)) throw new CliError(`--${name} must be a number, not "${text}"`)
  return value
}

function parseOptions (argv: string[]): Options | 'help' {
  const parsed = parseCommandLine(argv, {
    duration: { type: 'string' },
    seed: { type: 'string' },
    tempo: { type: 'string' },
    'music-key': { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    server: { type: 'string' },
    key: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }, GENERATE_HELP)
  const { values, positionals } = parsed
  if (values.help) return 'help'
  if (positionals.length !== 1) throw new CliError(`expected one PROMPT (quote it)\n\n${GENERATE_HELP}`)
  const seed = number('seed', values.seed)
  const tempo = number('tempo', values.tempo)
  const params: GenerateParams = {
    prompt: positionals[0]!,
    durationSec: number('duration', values.duration) ?? DEFAULT_DURATION_SEC,
    ...(seed !== undefined ? { seed } : {}),
    ...(tempo !== undefined ? { tempo } : {}),
    ...(values['music-key'] !== undefined ? { key: values['music-key'] } : {}),
    ...(values.format !== undefined ? { format: values.format as GenerateParams['format'] } : {})
  }
  const problem = checkGenerateParams(params)
  if (problem) throw new CliError(problem.replace(/^durationSec/, '--duration').replace(/^(seed|tempo|format)/, '--$1').replace(/^key/, '--music-key'))
  if (values.out === '') throw new CliError('--out needs a directory')
  return {
    params,
    out: values.out ?? '.',
    ...(values.server !== undefined ? { server: values.server } : {}),
    ...(values.key !== undefined ? { key: values.key } : {})
  }
}

interface Outcome { result: unknown, files: { name: string, body: Buffer }[] }

async function runLocally (params: GenerateParams): Promise<Outcome> {
  // parseEnv, not loadConfig: a local run needs no secrets and no data directory.
  const config = parseEnv(process.env)
  const engine = createEngines({ whisperBin: config.jobs.whisperBin, whisperModel: config.jobs.whisperModel, soundfont: config.jobs.soundfont }).generate
  const workDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tympan-cli-'))
  try {
    return await runHere(workDir, async (context) => {
      const output = await engine.run(params, context)
      const files = await Promise.all(output.artifacts.map(async (a) => ({ name: a.name, body: await fsp.readFile(a.path) })))
      return { result: output.result, files }
    })
  } finally {
    await fsp.rm(workDir, { recursive: true, force: true })
  }
}

async function runRemotely (params: GenerateParams, server: string, key: string | undefined): Promise<Outcome> {
  const remote = remoteJob(server, apiKeyFor(key))
  const job = await remote.run('generate', undefined, { ...params }, progressReporter())
  const files = []
  for (const artifact of job.artifacts) files.push({ name: artifact.name, body: await remote.artifact(job.id, artifact.name) })
  return { result: job.result, files }
}

/** `tympan generate PROMPT`: music.wav (or .mp3), music.mid and composition.json into --out. */
export async function generateCommand (argv: string[]): Promise<void> {
  const options = parseOptions(argv)
  if (options === 'help') { console.log(GENERATE_HELP); return }
  const target = await fsp.stat(options.out).catch(() => undefined)
  if (target && !target.isDirectory()) throw new CliError(`--out ${options.out} exists and is not a directory`)
  const outcome = options.server !== undefined
    ? await runRemotely(options.params, options.server, options.key)
    : await runLocally(options.params)
  await writeWhole(options.out, outcome.files)
  process.stderr.write(`wrote ${outcome.files.map((f) => path.join(options.out, f.name)).join(', ')}\n`)
  process.stdout.write(`${JSON.stringify(outcome.result, null, 2)}\n`)
}
