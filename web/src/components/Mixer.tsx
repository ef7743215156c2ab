import { createRef, useMemo, useState, type RefObject } from 'react'
import type { Artifact, Job } from '../types.ts'
import { artifactUrl } from '../urls.ts'
import { Waveform, type PlayerHandle } from './Waveform.tsx'

const shareText = (share: number) => share > 0 && share < 0.005 ? 'under 1%' : `${Math.round(share * 100)}%`
const stemName = (stem: Artifact) => stem.name.slice(0, stem.name.lastIndexOf('.'))

/**
 * Several audio artifacts of one job (stems) played together: one transport, and per stem
 * mute and solo (a solo mutes every stem that is not soloed) and a download.
 */
export function Mixer ({ job, stems, shares }: { job: Job, stems: Artifact[], shares?: Record<string, number> }) {
  const handles = useMemo(() => stems.map(() => createRef<PlayerHandle | null>()) as RefObject<PlayerHandle | null>[], [stems])
  const [muted, setMuted] = useState<Set<string>>(new Set())
  const [solo, setSolo] = useState<Set<string>>(new Set())
  const [playing, setPlaying] = useState(false)

  const audible = (name: string) => solo.size > 0 ? solo.has(name) : !muted.has(name)
  const apply = (nextMuted: Set<string>, nextSolo: Set<string>) => {
    stems.forEach((stem, i) => {
      const on = nextSolo.size > 0 ? nextSolo.has(stem.name) : !nextMuted.has(stem.name)
      handles[i]!.current?.setMuted(!on)
    })
  }
  const toggle = (set: Set<string>, name: string) => {
    const next = new Set(set)
    if (next.has(name)) next.delete(name)
    else next.add(name)
    return next
  }
  const transport = () => {
    const lead = handles[0]?.current
    if (!lead) return
    if (playing) {
      for (const h of handles) h.current?.pause()
      // Each player stopped at its own instant: line them up on the first.
      const at = lead.time()
      for (const h of handles) h.current?.seek(at)
      setPlaying(false)
      return
    }
    const at = lead.time()
    for (const h of handles) { h.current?.seek(at); h.current?.play() }
    setPlaying(true)
  }
  // A seek on any stem moves them all.
  const follow = (from: number) => (seconds: number) => {
    handles.forEach((h, i) => {
      if (i !== from && h.current && Math.abs(h.current.time() - seconds) > 0.25) h.current.seek(seconds)
    })
  }

  return (
    <div className="mixer" role="group" aria-label="Stems mixer">
      <div className="row">
        <button type="button" className="button primary" onClick={transport}>{playing ? 'Pause all' : 'Play all'}</button>
        <span className="muted">{stems.length} stems, played together</span>
      </div>
      {stems.map((stem, i) => (
        <div key={stem.name} className={`stem${audible(stem.name) ? '' : ' stem-silent'}`}>
          <div className="stem-head">
            <h3>{stem.name}</h3>
            {shares?.[stemName(stem)] !== undefined && <span className="muted">{shareText(shares[stemName(stem)]!)} of the energy</span>}
            <span className="stem-state">{audible(stem.name) ? 'audible' : 'silent'}</span>
            <button type="button" className="button secondary" aria-pressed={muted.has(stem.name)} onClick={() => { const m = toggle(muted, stem.name); setMuted(m); apply(m, solo) }}>Mute</button>
            <button type="button" className="button secondary" aria-pressed={solo.has(stem.name)} onClick={() => { const s = toggle(solo, stem.name); setSolo(s); apply(muted, s) }}>Solo</button>
            <a className="button link" href={artifactUrl(job, stem.name)} download={stem.name}>Download <span className="visually-hidden">{stem.name}</span></a>
          </div>
          <Waveform url={artifactUrl(job, stem.name)} label={stem.name} height={64} handle={handles[i]!} bare onSeek={follow(i)} onPlayChange={i === 0 ? (p) => { if (!p) setPlaying(false) } : undefined} onReady={() => apply(muted, solo)} />
        </div>
      ))}
    </div>
  )
}

