import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { FORMAT_INFO, SPEECH_FORMATS, createSynthesiser, speakEngine, type SpeechFormat } from '../engines/speak/index.ts'
import { HttpProblem } from '../http/problem.ts'
import { parseParams } from '../modules/jobs/jobs.types.ts'
import { SPEAK_HELP } from './help.ts'
import { runHere } from './local-run.ts'
import { writeWhole } from './output-files.ts'
import { progressReporter } from './progress.ts'
import { apiKeyFor, remoteJob } from './remote-job.ts'
import { CliError, parseCommandLine } from './runtime.ts'

interface SpeakOptions {
  params: Record<string, unknown>
  format: SpeechFormat
  out?: string
  server?: string
  key?: string
}

const isFormat = (value: string): value is SpeechFormat => (SPEECH_FORMATS as readonly string[]).includes(value)

async function readStdin (): Promise<string> {
  if (process.stdin.isTTY) throw new CliError(`give the TEXT to speak, or pipe it in\n\n${SPEAK_HELP}`)
  let text = ''
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) text += chunk.toString('utf8')
  return text
}

async function parseOptions (argv: string[]): Promise<SpeakOptions | 'help'> {
  const parsed = parseCommandLine(argv, {
    voice: { type: 'string' },
    language: { type: 'string' },
    speed: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    server: { type: 'string' },
    key: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }, SPEAK_HELP, ' (a TEXT that starts with "-" goes after "--")')
  const { values, positionals } = parsed
  if (values.help) return 'help'
  if (positionals.length > 1) throw new CliError(`expected one TEXT (quote it)\n\n${SPEAK_HELP}`)
  const text = positionals[0] ?? await readStdin()

  // The format is --format's, else --out's extension, else mp3; the two may not disagree.
  const extension = values.out === undefined ? undefined : path.extname(values.out).slice(1).toLowerCase()
  if (values.format !== undefined && !isFormat(values.format)) throw new CliError(`--format must be one of ${SPEECH_FORMATS.join(', ')}`)
  if (values.format !== undefined && extension && isFormat(extension) && extension !== values.format) throw new CliError(`--format ${values.format} does not match --out ${values.out}`)
  const format = (values.format ?? (extension && isFormat(extension) ? extension : 'mp3')) as SpeechFormat
  if (values.out === undefined && process.stdout.isTTY) throw new CliError('--out FILE is needed: audio is not written to a terminal')

  const speed = values.speed === undefined ? undefined : Number(values.speed)
  const params: Record<string, unknown> = {
    text,
    format,
    ...(values.voice !== undefined ? { voice: values.voice } : {}),
    ...(values.language !== undefined ? { language: values.language } : {}),
    ...(speed !== undefined ? { speed } : {})
  }
  try {
    parseParams('speak', params)
  } catch (error) {
    if (error instanceof HttpProblem) throw new CliError(error.message.replace(/^params\.text\b/, 'TEXT').replace(/^params\./, '--'))
    throw error
  }
  return {
    params,
    format,
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values.server !== undefined ? { server: values.server } : {}),
    ...(values.key !== undefined ? { key: values.key } : {})
  }
}

async function checkOut (out: string | undefined): Promise<void> {
  if (out === undefined) return
  if (out === '') throw new CliError('--out needs a path')
  if ((await fsp.stat(out).catch(() => undefined))?.isDirectory()) throw new CliError(`--out ${out} is a directory: name the audio file`)
  const parent = await fsp.stat(path.dirname(path.resolve(out))).catch(() => undefined)
  if (!parent?.isDirectory()) throw new CliError(`--out ${out}: the directory ${path.dirname(out)} does not exist`)
}

async function speakLocally (options: SpeakOptions): Promise<{ body: Buffer, result: unknown }> {
  const workDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tympan-cli-'))
  try {
    return await runHere(workDir, async (context) => {
      const output = await speakEngine(createSynthesiser()).run(options.params as never, context)
      return { body: await fsp.readFile(output.artifacts[0]!.path), result: output.result }
    })
  } finally {
    await fsp.rm(workDir, { recursive: true, force: true })
  }
}

async function speakRemotely (options: SpeakOptions & { server: string }): Promise<{ body: Buffer, result: unknown }> {
  const remote = remoteJob(options.server, apiKeyFor(options.key))
  const job = await remote.run('speak', undefined, options.params, progressReporter())
  return { body: await remote.artifact(job.id, `speech.${FORMAT_INFO[options.format].ext}`), result: job.result }
}

/** `tympan speak TEXT --out hello.mp3`: here with the installed voices, or on a server. */
export async function speakCommand (argv: string[]): Promise<void> {
  const options = await parseOptions(argv)
  if (options === 'help') { console.log(SPEAK_HELP); return }
  await checkOut(options.out)
  const spoken = options.server !== undefined ? await speakRemotely({ ...options, server: options.server }) : await speakLocally(options)
  if (options.out === undefined) { process.stdout.write(spoken.body); return }
  await writeWhole(path.dirname(options.out), [{ name: path.basename(options.out), body: spoken.body }])
  const { voice, durationSec } = spoken.result as { voice: string, durationSec: number }
  process.stderr.write(`${options.out}: ${durationSec.toFixed(1)} s, voice ${voice}\n`)
}
