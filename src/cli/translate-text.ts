import { EngineError } from '../engines/engine.ts'
import { createApertiumTranslator, languageName, resolveLanguage, textProblem } from '../engines/translate/index.ts'
import { TRANSLATE_HELP } from './help.ts'
import { apiCaller, apiKeyFor } from './remote-job.ts'
import { CliError, parseCommandLine } from './runtime.ts'

// Enough for any text the 5000-character limit lets through, in any encoding, with room to
// say how long it was; more is not read into memory.
const MAX_STDIN_BYTES = 1 << 20

interface Answer {
  translation: string
  source_lang: string
  target_lang: string
  engine: string
  route: string[]
}

async function readText (): Promise<string> {
  if (process.stdin.isTTY) throw new CliError(`give the text as an argument, or pipe it on standard input\n\n${TRANSLATE_HELP}`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length
    if (size > MAX_STDIN_BYTES) throw new CliError('standard input holds more than 1 MiB; a translation takes at most 5000 characters')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

async function translateHere (text: string, from: string, to: string, signal: AbortSignal): Promise<Answer> {
  const translator = createApertiumTranslator()
  try {
    const { translation, route } = await translator.translate(text, from, to, { signal })
    return { translation, source_lang: route[0]!, target_lang: route.at(-1)!, engine: 'apertium', route }
  } catch (error) {
    if (!(error instanceof EngineError)) throw error
    if (error.kind === 'canceled') throw new CliError('interrupted')
    if (error.kind !== 'invalid-input') throw new CliError(error.message)
    // Valid, distinct codes refused: no route. Say where the source does lead.
    const { pairs, routes } = await translator.languages()
    const source = resolveLanguage(pairs, from)
    const target = resolveLanguage(pairs, to)
    if (!source || !target || source === target) throw new CliError(error.message)
    const targets = routes.filter((r) => r.from === source).map((r) => r.to)
    throw new CliError(`${error.message}. ${targets.length ? `From ${languageName(source)} (${source}) this machine translates into: ${targets.join(', ')}` : `No installed pair translates from ${languageName(source)}`}`)
  }
}

async function translateThere (server: string, key: string, body: Record<string, string>, signal: AbortSignal): Promise<Answer> {
  const response = await apiCaller(server, key)('/api/v1/translate', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal
  }, 'translation')
  return await response.json() as Answer
}

export async function translateTextCommand (argv: string[]): Promise<void> {
  const parsed = parseCommandLine(argv, {
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean', default: false },
    server: { type: 'string' },
    key: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }, TRANSLATE_HELP)
  const { values, positionals } = parsed
  if (values.help) { console.log(TRANSLATE_HELP); return }
  if (!values.from || !values.to) throw new CliError(`--from and --to are required\n\n${TRANSLATE_HELP}`)
  const text = positionals.length === 0 || (positionals.length === 1 && positionals[0] === '-') ? await readText() : positionals.join(' ')
  const problem = textProblem(text)
  if (problem) throw new CliError(problem)

  const abort = new AbortController()
  const stop = () => { abort.abort() }
  process.once('SIGINT', stop)
  try {
    let answer: Answer
    if (values.server !== undefined) {
      answer = await translateThere(values.server, apiKeyFor(values.key), { source_lang: values.from, target_lang: values.to, text }, abort.signal)
    } else {
      answer = await translateHere(text, values.from, values.to, abort.signal)
    }
    process.stdout.write(values.json ? `${JSON.stringify(answer, null, 2)}\n` : `${answer.translation}\n`)
  } catch (error) {
    if (abort.signal.aborted) throw new CliError('interrupted')
    throw error
  } finally {
    process.off('SIGINT', stop)
  }
}
