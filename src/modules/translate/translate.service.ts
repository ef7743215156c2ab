import type { Principal } from '../../access/permissions.ts'
import type { TranslationLog } from '../../db/schema.ts'
import { EngineError } from '../../engines/engine.ts'
import { characters, findRoute, languageName, resolveLanguage, targetsFrom, textProblem, type Pair, type Translator } from '../../engines/translate/index.ts'
import { HttpProblem, unprocessable } from '../../http/problem.ts'
import type { TranslationLogsRepository } from './translate.repository.ts'

export interface TranslateRequest {
  source_lang: string
  target_lang: string
  text: string
}

export interface TranslateReply {
  translation: string
  source_lang: string
  target_lang: string
  engine: 'apertium'
  route: string[]
}

export interface TranslateDeps {
  translator: Pick<Translator, 'languages' | 'translate'>
  logs: Pick<TranslationLogsRepository, 'insert' | 'listForUser' | 'deleteForUser' | 'expire'>
  /** TRANSLATION_LOG_TEXT: keep the source text in the log. */
  logText: boolean
  /** TRANSLATION_LOG_RETENTION_DAYS: rows older than this are deleted. */
  logRetentionDays: number
  /** FILE_RETENTION_HOURS: a kept text lives no longer than an uploaded file. */
  textRetentionHours: number
  clock?: () => number
}

const unavailable = (detail: string) => new HttpProblem(503, 'Service Unavailable', detail)
const pairName = (p: Pair) => `${p.from}-${p.to}`
const named = (code: string) => `${languageName(code)} (${code})`

/** An engine failure as the client sees it; the engine's own words carry no paths or text. */
function asProblem (error: EngineError): HttpProblem {
  switch (error.kind) {
    case 'invalid-input': return unprocessable(error.message, { field: 'text' })
    case 'missing-engine': return unavailable(`Translation is not available on this server: ${error.message}`)
    case 'timeout': return unavailable('The translation took too long and was stopped; try again, or send a shorter text')
    case 'canceled': return unavailable('The translation was stopped')
    case 'transient': return unavailable('The translation engine failed; try again')
  }
}

export function toPublicLog (row: TranslationLog) {
  return {
    id: row.id,
    sourceLang: row.source_lang,
    targetLang: row.target_lang,
    route: row.route,
    characters: row.characters,
    durationMs: row.duration_ms,
    status: row.status,
    text: row.text,
    createdAt: row.created_at.toISOString()
  }
}

/**
 * POST /api/v1/translate: checks the codes, the text and the route before Apertium starts, so
 * that every refusal says what to send instead (the targets the source reaches, the installed
 * pairs) and leaves nothing behind; then translates and writes one log row. Neither this
 * service nor anything it calls logs the text: it reaches the database only when the operator
 * asked for it (TRANSLATION_LOG_TEXT), and the client's answer.
 */
export function translationService (deps: TranslateDeps) {
  const clock = deps.clock ?? (() => performance.now())

  async function installed (): Promise<Pair[]> {
    try {
      return (await deps.translator.languages()).pairs
    } catch (error) {
      if (error instanceof EngineError) throw asProblem(error)
      throw error
    }
  }

  function code (pairs: Pair[], field: 'source_lang' | 'target_lang', value: string): string {
    const resolved = resolveLanguage(pairs, value)
    if (!resolved) throw unprocessable(`${field} must be the ISO 639-1 or 639-3 code of a language, like en or eng`, { field })
    return resolved
  }

  return {
    async translate (principal: Principal, body: TranslateRequest, signal: AbortSignal): Promise<TranslateReply> {
      const pairs = await installed()
      const source = code(pairs, 'source_lang', body.source_lang)
      const target = code(pairs, 'target_lang', body.target_lang)
      if (source === target) throw unprocessable(`source_lang and target_lang are the same language (${source}): nothing to translate`, { field: 'target_lang' })
      const problem = textProblem(body.text)
      if (problem) throw unprocessable(problem, { field: 'text' })
      const route = findRoute(pairs, source, target)
      if (!route) {
        const targets = targetsFrom(pairs, source)
        const installedPairs = pairs.map(pairName)
        const listed = `Installed pairs: ${installedPairs.join(', ') || 'none'}.`
        if (targets.length === 0) {
          throw unprocessable(`No installed pair translates from ${named(source)}. ${listed}`, { field: 'source_lang', targets, pairs: installedPairs })
        }
        throw unprocessable(`No installed pair or route translates ${named(source)} into ${named(target)}. From ${source}: ${targets.join(', ')}. ${listed}`, { field: 'target_lang', targets, pairs: installedPairs })
      }
      const text = body.text.trim()
      const started = clock()
      const log = (status: 'ok' | 'failed') => deps.logs.insert({
        userId: principal.userId,
        sourceLang: source,
        targetLang: target,
        route,
        characters: characters(text),
        durationMs: Math.max(0, Math.round(clock() - started)),
        status,
        text: deps.logText ? text : null
      })
      let result
      try {
        result = await deps.translator.translate(text, source, target, { signal })
      } catch (error) {
        if (!(error instanceof EngineError)) throw error
        await log('failed')
        throw asProblem(error)
      }
      await log('ok')
      return { translation: result.translation, source_lang: source, target_lang: target, engine: 'apertium', route: result.route }
    },

    async languages () {
      try {
        return await deps.translator.languages()
      } catch (error) {
        if (error instanceof EngineError) throw asProblem(error)
        throw error
      }
    },

    /** The retention sweep's share: kept texts after FILE_RETENTION_HOURS, rows after TRANSLATION_LOG_RETENTION_DAYS. */
    async sweep (now: Date): Promise<number> {
      return deps.logs.expire(new Date(now.getTime() - deps.textRetentionHours * 3_600_000), new Date(now.getTime() - deps.logRetentionDays * 86_400_000))
    },

    /** GDPR participant: the user's translation log, exported and erased with the account. */
    personalData: {
      section: 'translations',
      export: async (userId: string) => (await deps.logs.listForUser(userId)).map(toPublicLog),
      async erase (userId: string) { await deps.logs.deleteForUser(userId) }
    }
  }
}

export type TranslationService = ReturnType<typeof translationService>
