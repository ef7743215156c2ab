import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { EngineError, type EngineStatus } from '../engine.ts'
import { runProcess } from '../process.ts'
import { joinTexts, splitTexts } from './apertium-stream.ts'
import { languageName } from './languages.ts'
import { allRoutes, findRoute, languagesOf, parseModes, resolveLanguage, type Pair } from './routes.ts'
import { assertText, characters, MAX_BATCH_CHARS, MAX_BATCH_TEXTS, type Translator } from './translator.ts'

const PKG = 'apertium'
// Installing a pair should show up without a restart, but listing the modes costs a process.
const MODES_TTL_MS = 60_000
// Status probes and the mode listing are not part of a request's work: a short budget.
const PROBE_MS = 10_000
// Per hop: Apertium's start-up (0.3–1.8 s per pair on a busy two-core machine: it loads its
// transducers) with a wide margin, and 500 characters a second where 5000–12000 were measured
// past the start-up (docs/translation.md).
const HOP_BASE_MS = 15_000
const HOP_MS_PER_CHAR = 2

export interface ApertiumOptions {
  /** The `apertium` executable (tests point it elsewhere to see a missing engine). */
  bin?: string
}

export type ApertiumTranslator = Translator & { name: string, status: () => Promise<EngineStatus> }

/**
 * Translation with Apertium's installed pairs, routed through pivots where no pair is direct.
 *
 * Each hop runs `apertium -f none -u MODE FILE`: `-f none` because the texts are deformatted
 * here (apertium-stream.ts), so that one run carries many texts; `-u` because an unknown word
 * would otherwise come back marked `*word`, which a reader (or the speech synthesiser after
 * us) would take for part of the text; the word itself still comes back, untranslated. The
 * stream goes in as a file, not on stdin: the `apertium` script opens `/dev/stdin` by name,
 * which fails when stdin is the socket Node gives a child. The file lives in a private
 * directory of its own and is gone when the hop ends; the text is never an argument.
 */
export function createApertiumTranslator (options: ApertiumOptions = {}): ApertiumTranslator {
  const bin = options.bin ?? 'apertium'
  let cached: { at: number, pairs: Promise<Pair[]> } | undefined

  function pairs (): Promise<Pair[]> {
    if (!cached || Date.now() - cached.at > MODES_TTL_MS) {
      const listing = runProcess(bin, ['-l'], { signal: new AbortController().signal, timeoutMs: PROBE_MS, pkg: PKG })
        .then(({ stdout }) => parseModes(stdout))
      cached = { at: Date.now(), pairs: listing }
      listing.catch(() => { if (cached?.pairs === listing) cached = undefined })
    }
    return cached.pairs
  }

  const resolve = async (code: string) => resolveLanguage(await pairs(), code)

  async function plan (from: string, to: string): Promise<{ route: string[], modes: string[] }> {
    const source = await resolve(from)
    const target = await resolve(to)
    if (!source) throw new EngineError('invalid-input', 'The source language must be the ISO 639-1 or 639-3 code of a language, like en or eng')
    if (!target) throw new EngineError('invalid-input', 'The target language must be the ISO 639-1 or 639-3 code of a language, like en or eng')
    if (source === target) throw new EngineError('invalid-input', 'The source and target languages are the same')
    const installed = await pairs()
    const route = findRoute(installed, source, target)
    if (!route) throw new EngineError('invalid-input', `No installed Apertium pair translates ${languageName(source)} into ${languageName(target)}, directly or through another language`)
    const modes = route.slice(1).map((language, i) => installed.find((p) => p.from === route[i] && p.to === language)!.mode)
    return { route, modes }
  }

  /** One hop: every text through one mode, in one process. */
  async function hop (mode: string, texts: string[], signal: AbortSignal): Promise<string[]> {
    const stream = joinTexts(texts)
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tympan-translate-'))
    try {
      const file = path.join(dir, 'input')
      await fsp.writeFile(file, stream, { mode: 0o600 })
      const { stdout } = await runProcess(bin, ['-f', 'none', '-u', mode, file], {
        signal,
        timeoutMs: HOP_BASE_MS + HOP_MS_PER_CHAR * stream.length,
        // Translations run longer than their source (Romance from English by ~15%); four
        // times is far past any, and the cap still bounds what a runaway could buffer.
        maxOutput: 4 * stream.length + 65_536,
        pkg: PKG
      })
      const out = splitTexts(stdout)
      if (!out || out.length !== texts.length) throw new EngineError('transient', `apertium (${mode}) returned ${out?.length ?? 'unreadable'} texts for ${texts.length}`)
      return out.map((text) => text.trim())
    } finally {
      await fsp.rm(dir, { recursive: true, force: true })
    }
  }

  async function translateMany (texts: string[], from: string, to: string, opts: { signal: AbortSignal }) {
    if (texts.length > MAX_BATCH_TEXTS) throw new EngineError('invalid-input', `At most ${MAX_BATCH_TEXTS} texts can be translated at once`)
    const trimmed = texts.map((text) => assertText(text, { allowEmpty: true }))
    const total = trimmed.reduce((sum, text) => sum + characters(text), 0)
    if (total > MAX_BATCH_CHARS) throw new EngineError('invalid-input', `The texts hold ${total} characters together; at most ${MAX_BATCH_CHARS} can be translated at once`)
    const { route, modes } = await plan(from, to)
    // Empty texts stay empty and are not sent: an empty sentence is nothing to translate.
    const sent = trimmed.flatMap((text, i) => text === '' ? [] : [i])
    let current = sent.map((i) => trimmed[i]!)
    for (const mode of modes) {
      if (current.length === 0) break
      current = await hop(mode, current, opts.signal)
    }
    const translations = trimmed.map(() => '')
    sent.forEach((index, k) => { translations[index] = current[k]! })
    return { translations, route }
  }

  return {
    name: 'apertium',
    async languages () {
      const installed = await pairs()
      return { pairs: installed, routes: allRoutes(installed) }
    },
    async route (from, to) {
      const source = await resolve(from)
      const target = await resolve(to)
      return source && target ? findRoute(await pairs(), source, target) : undefined
    },
    async translate (text, from, to, opts) {
      assertText(text)
      const { translations, route } = await translateMany([text], from, to, opts)
      return { translation: translations[0]!, route }
    },
    translateMany,
    async status (): Promise<EngineStatus> {
      const base = { name: 'apertium', package: PKG }
      try {
        const [installed, version] = await Promise.all([
          pairs(),
          runProcess(bin, ['-V'], { signal: new AbortController().signal, timeoutMs: PROBE_MS, pkg: PKG }).then(({ stdout }) => stdout.trim().replace(/^Apertium\s+/i, ''))
        ])
        if (installed.length === 0) return { ...base, available: false, version, detail: 'no language pair is installed: install one, e.g. the Debian package apertium-eng-spa' }
        const routes = allRoutes(installed)
        return {
          ...base,
          available: true,
          version,
          languages: languagesOf(installed),
          detail: `${installed.length} pairs (${installed.map((p) => `${p.from}→${p.to}`).join(' ')}), ${routes.length} routes with pivots`
        }
      } catch (error) {
        if (error instanceof EngineError) return { ...base, available: false, detail: error.message }
        throw error
      }
    }
  }
}
