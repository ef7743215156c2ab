import { useMemo } from 'react'
import { api } from '../api.ts'
import { languageName } from '../languages.ts'
import type { EngineInfo, VoiceDetail } from '../types.ts'
import { useLoad } from '../ui.tsx'

// Options of what the server has installed: translation routes (GET
// /api/v1/translate/languages) and speech voices (the engines' voiceDetails).

export interface Route { from: string, to: string, via: string[] }
export interface Pair { from: string, to: string, mode: string }
export interface Languages { pairs: Pair[], routes: Route[] }

export function useLanguages () {
  return useLoad((signal) => api<Languages>('/api/v1/translate/languages', { signal }), [])
}

const byName = (a: string, b: string) => languageName(a).localeCompare(languageName(b))

/** The languages a route starts from, by name. */
export const sourcesOf = (routes: Route[]) => [...new Set(routes.map((r) => r.from))].sort(byName)

/** The routes from `source`, direct ones first, each group by name. */
export const routesFrom = (routes: Route[], source: string) =>
  routes.filter((r) => r.from === source).sort((a, b) => Math.sign(a.via.length) - Math.sign(b.via.length) || byName(a.to, b.to))

/** `<option>`s of the targets of `routes`, pivots apart and named ("via Spanish"). */
export function TargetOptions ({ routes }: { routes: Route[] }) {
  const direct = routes.filter((r) => r.via.length === 0)
  const pivot = routes.filter((r) => r.via.length > 0)
  const option = (r: Route) => <option key={r.to} value={r.to}>{languageName(r.to)} ({r.to}){r.via.length ? ` — via ${r.via.map(languageName).join(', ')}` : ''}</option>
  return (
    <>
      {direct.length > 0 && <optgroup label="Direct">{direct.map(option)}</optgroup>}
      {pivot.length > 0 && <optgroup label="Through another language">{pivot.map(option)}</optgroup>}
    </>
  )
}

export function useVoices () {
  const engines = useLoad((signal) => api<{ engines: EngineInfo[] }>('/api/v1/engines', { signal }), [])
  const groups = useMemo(() => {
    const seen = new Map<string, VoiceDetail>()
    for (const engine of engines.data?.engines ?? []) if (engine.available) for (const v of engine.voiceDetails ?? []) if (!seen.has(v.id)) seen.set(v.id, v)
    return groupVoices([...seen.values()])
  }, [engines.data])
  return { groups, error: engines.error }
}

/** Voices grouped by the language they speak, English first, then by name. */
function groupVoices (voices: VoiceDetail[]): Array<[string, VoiceDetail[]]> {
  const groups = new Map<string, VoiceDetail[]>()
  for (const voice of voices) {
    const base = voice.language.split('-')[0]!
    groups.set(base, [...groups.get(base) ?? [], voice])
  }
  return [...groups].sort(([a], [b]) => a === 'en' ? -1 : b === 'en' ? 1 : byName(a, b))
}

/** `<optgroup>`s of voices; `language` keeps only that language's voices. */
export function VoiceOptions ({ groups, language }: { groups: Array<[string, VoiceDetail[]]>, language?: string }) {
  const shown = language ? groups.filter(([code]) => code === language) : groups
  return (
    <>
      {shown.map(([code, list]) => (
        <optgroup key={code} label={languageName(code)}>
          {list.map((v) => <option key={v.id} value={v.id}>{v.description}</option>)}
        </optgroup>
      ))}
    </>
  )
}
