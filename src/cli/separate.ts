import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseEnv } from '../config/config.ts'
import { createEngines } from '../engines/registry.ts'
import { SEPARATE_HELP } from './help.ts'
import { runHere } from './local-run.ts'
import { writeWhole, type OutputFile } from './output-files.ts'
import { progressReporter } from './progress.ts'
import { apiKeyFor, remoteJob } from './remote-job.ts'
import { CliError, parseCommandLine } from './runtime.ts'

const FORMATS = ['wav', 'flac', 'mp3'] as const
type Format = typeof FORMATS[number]

interface Options {
  file: string
  params: { stems: 2 | 4, format: Format }
  out: string
  server?: string
  key?: string
}

function parseOptions (argv: string[]): Options | 'help' {
  const parsed = parseCommandLine(argv, {
    stems: { type: 'string', default: '4' },
    format: { type: 'string', default: 'wav' },
    out: { type: 'string' },
    server: { type: 'string' },
    key: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }, SEPARATE_HELP)
  const { values, positionals } = parsed
  if (values.help) return 'help'
  if (positionals.length !== 1) throw new CliError(`expected one FILE\n\n${SEPARATE_HELP}`)
  if (values.stems !== '2' && values.stems !== '4') throw new CliError('--stems must be 2 or 4')
  if (!(FORMATS as readonly string[]).includes(values.format)) throw new CliError(`--format must be one of ${FORMATS.join(', ')}`)
  const file = positionals[0]!
  if (values.out === '') throw new CliError('--out needs a path')
  return {
    file,
    params: { stems: Number(values.stems) as 2 | 4, format: values.format as Format },
    // Beside the working directory, named after the input: song.mp3 → song-stems/.
    out: values.out ?? `${path.basename(file, path.extname(file))}-stems`,
    ...(values.server !== undefined ? { server: values.server } : {}),
    ...(values.key !== undefined ? { key: values.key } : {})
  }
}

async function checkPaths (file: string, out: string): Promise<void> {
  const input = await fsp.stat(file).catch(() => undefined)
  if (!input) throw new CliError(`${file}: no such file`)
  if (!input.isFile()) throw new CliError(`${file} is not a file`)
  const target = await fsp.stat(out).catch(() => undefined)
  if (target && !target.isDirectory()) throw new CliError(`--out ${out} exists and is not a directory`)
}

/** Runs the separation here; the stems are copied out of the work directory, never read whole. */
async function runLocally (options: Options, scratch: string): Promise<{ result: unknown, files: OutputFile[] }> {
  const config = parseEnv(process.env)
  const engine = createEngines({ whisperBin: config.jobs.whisperBin, whisperModel: config.jobs.whisperModel }).separate
  return runHere(scratch, async (context) => {
    const output = await engine.run({ path: options.file, durationSec: 0 }, options.params, context)
    return { result: output.result, files: output.artifacts.map((a) => ({ name: a.name, from: a.path })) }
  })
}

/** Runs it on a server; each stem is downloaded to scratch before the next, then all move to --out. */
async function runRemotely (options: Options & { server: string }, scratch: string): Promise<{ result: unknown, files: OutputFile[] }> {
  const remote = remoteJob(options.server, apiKeyFor(options.key))
  const job = await remote.run('separate', options.file, options.params, progressReporter())
  const files: OutputFile[] = []
  for (const artifact of job.artifacts) {
    const from = path.join(scratch, artifact.name)
    await fsp.writeFile(from, await remote.artifact(job.id, artifact.name))
    files.push({ name: artifact.name, from })
  }
  return { result: job.result, files }
}

/** `tympan separate FILE`: stems into --out DIR (written only when the run succeeds), the summary on stdout. */
export async function separateCommand (argv: string[]): Promise<void> {
  const options = parseOptions(argv)
  if (options === 'help') { console.log(SEPARATE_HELP); return }
  await checkPaths(options.file, options.out)
  const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'tympan-cli-'))
  try {
    const outcome = options.server !== undefined
      ? await runRemotely({ ...options, server: options.server }, scratch)
      : await runLocally(options, scratch)
    await writeWhole(options.out, outcome.files)
    process.stdout.write(`${JSON.stringify(outcome.result, null, 2)}\n`)
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true })
  }
}
