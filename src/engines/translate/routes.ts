import { normaliseLanguage } from './languages.ts'

/** An installed Apertium mode that translates `from` into `to` (canonical codes). */
export interface Pair {
  from: string
  to: string
  /** Apertium's name for it, as `apertium -l` lists it: `eng-spa`, `fr-es`. */
  mode: string
}

export interface Route {
  from: string
  to: string
  /** The pivot languages in between; empty for a direct pair. */
  via: string[]
}

// Each hop through a pivot loses some of the meaning (shallow transfer errors compound), and
// costs one more Apertium start-up: three hops reach every installed language from every other
// on a stock Debian install (ca → fr goes ca → en → es → fr), more would only read worse.
export const MAX_HOPS = 3

// A default direction: two language codes. Modes with a `_` are variants (`eng-cat_valencia`,
// `spa-eng_US`), and anything else (`eco-fr-es`, a debug mode) is not a route either.
const DEFAULT_MODE = /^([a-z]{2,3})-([a-z]{2,3})$/

const canonical = (code: string): string => normaliseLanguage(code) ?? code

/**
 * `apertium -l` (one mode per line) → the default pairs. When two modes translate the same
 * languages (an old `en-es` beside `eng-spa`), the one named by ISO 639-3 codes wins: Apertium
 * names its current packages that way.
 */
export function parseModes (listing: string): Pair[] {
  const byDirection = new Map<string, Pair>()
  for (const line of listing.split('\n')) {
    const mode = line.trim()
    const match = DEFAULT_MODE.exec(mode)
    if (!match) continue
    const from = canonical(match[1]!)
    const to = canonical(match[2]!)
    if (from === to) continue
    const key = `${from}>${to}`
    const known = byDirection.get(key)
    if (!known || mode.length > known.mode.length) byDirection.set(key, { from, to, mode })
  }
  return [...byDirection.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to))
}

/** A canonical code for what a caller sent: the table's, or an installed pair's own code. */
export function resolveLanguage (pairs: readonly Pair[], code: string): string | undefined {
  const known = normaliseLanguage(code)
  if (known) return known
  const trimmed = code.trim()
  return languagesOf(pairs).includes(trimmed) ? trimmed : undefined
}

/** Every language a pair reads or writes, sorted. */
export function languagesOf (pairs: readonly Pair[]): string[] {
  return [...new Set(pairs.flatMap((p) => [p.from, p.to]))].sort()
}

/**
 * Shortest paths from `from` to every reachable language, by breadth-first search: a direct
 * pair always wins, and among paths of one length the alphabetically first pivot does, so the
 * same install always answers the same route. Paths include both ends: `['fr', 'es', 'en']`.
 */
function pathsFrom (pairs: readonly Pair[], from: string): Map<string, string[]> {
  const next = new Map<string, string[]>()
  for (const pair of pairs) next.set(pair.from, [...(next.get(pair.from) ?? []), pair.to])
  for (const targets of next.values()) targets.sort()
  const paths = new Map<string, string[]>([[from, [from]]])
  let frontier = [from]
  for (let hop = 0; hop < MAX_HOPS && frontier.length > 0; hop++) {
    const reached: string[] = []
    for (const language of frontier) {
      for (const target of next.get(language) ?? []) {
        if (paths.has(target)) continue
        paths.set(target, [...paths.get(language)!, target])
        reached.push(target)
      }
    }
    frontier = reached
  }
  paths.delete(from)
  return paths
}

export function findRoute (pairs: readonly Pair[], from: string, to: string): string[] | undefined {
  if (from === to) return undefined
  return pathsFrom(pairs, from).get(to)
}

/** Every reachable (from, to) with its pivots, sorted by source then target. */
export function allRoutes (pairs: readonly Pair[]): Route[] {
  const routes: Route[] = []
  for (const from of languagesOf(pairs)) {
    const paths = pathsFrom(pairs, from)
    for (const to of [...paths.keys()].sort()) routes.push({ from, to, via: paths.get(to)!.slice(1, -1) })
  }
  return routes
}

/** The targets `from` reaches, sorted: what a refusal names as available. */
export function targetsFrom (pairs: readonly Pair[], from: string): string[] {
  return [...pathsFrom(pairs, from).keys()].sort()
}
