import type { EngineStatus } from '../../engines/engine.ts'
import { resolveVoice, VoiceError, type Voice } from '../../engines/speak/index.ts'
import { findRoute, languageName, resolveLanguage, targetsFrom, type Pair } from '../../engines/translate/index.ts'
import { unprocessable } from '../../http/problem.ts'

export interface TranslateCheckDeps {
  /** The installed translation pairs. */
  pairs: () => Promise<Pair[]>
  /** The recogniser's status, undefined when it is unknown. */
  recogniser: (engine: string) => Promise<EngineStatus | undefined>
  /** The installed voices; undefined when speech is not installed (a speaking job then fails at once, naming the package). */
  voices: () => Promise<Voice[] | undefined>
}

const named = (code: string) => `${languageName(code)} (${code})`

/**
 * A `translate` job's create-time check: every refusal a 422 that names the field and what to
 * send instead, so a job that cannot work is never queued. Returns the canonical codes the
 * handler runs with.
 */
export async function checkTranslate (params: { target_lang: string, source_lang?: string, speak?: boolean, voice?: string, engine?: string }, defaultEngine: string, deps: TranslateCheckDeps): Promise<{ source: string, target: string }> {
  const pairs = await deps.pairs()
  const target = resolveLanguage(pairs, params.target_lang)
  if (!target) throw unprocessable('params.target_lang must be the ISO 639-1 or 639-3 code of a language, like es or spa', { field: 'params.target_lang' })
  const source = resolveLanguage(pairs, params.source_lang ?? 'en')
  if (!source) throw unprocessable('params.source_lang must be the ISO 639-1 or 639-3 code of a language, like en or eng', { field: 'params.source_lang' })
  if (source === target) throw unprocessable(`params.source_lang and params.target_lang are the same language (${source}): nothing to translate; a transcribe job gives the text`, { field: 'params.target_lang' })

  const engine = params.engine ?? defaultEngine
  const status = await deps.recogniser(engine)
  // A recogniser that is not installed is not refused here: the job fails at once and names the package.
  if (status?.available && status.languages && !status.languages.includes(source)) {
    throw unprocessable(`No installed recogniser hears ${named(source)}: ${engine} knows ${status.languages.join(', ') || 'none'}`, { field: 'params.source_lang', installed: status.languages })
  }

  if (!findRoute(pairs, source, target)) {
    const targets = targetsFrom(pairs, source)
    const reachable = targets.length > 0 ? `${named(source)} translates into ${targets.join(', ')}` : `no installed pair translates from ${named(source)}`
    throw unprocessable(`No installed translation route from ${named(source)} into ${named(target)}: ${reachable}. Installed pairs: ${pairs.map((p) => `${p.from}-${p.to}`).join(', ') || 'none'}`, { field: 'params.target_lang', targets })
  }

  if (params.voice !== undefined && params.speak !== true) throw unprocessable('params.voice needs params.speak: true', { field: 'params.voice' })
  const voices = params.speak === true ? await deps.voices() : undefined
  if (voices) {
    try {
      resolveVoice(voices, { voice: params.voice, language: target })
    } catch (error) {
      if (!(error instanceof VoiceError)) throw error
      const field = error.field === 'voice' ? 'params.voice' : 'params.target_lang'
      throw unprocessable(`${field}: ${error.message}`, { field })
    }
  }
  return { source, target }
}
