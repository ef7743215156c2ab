import { ApiError, problemOf, send } from '../api.ts'
import type { Artifact, Job } from '../types.ts'
import { ErrorAlert, formatDuration, useLoad } from '../ui.tsx'
import { isPlayable } from './artifact-kinds.ts'
import { artifactUrl } from '../urls.ts'
import { Waveform } from './Waveform.tsx'

// The views of the job types that make audio from words: speech (`speak`) and music
// (`generate`). Each names the artifacts it shows, so the generic list leaves them out.

const audioOf = (job: Job, stem: string) => job.artifacts.find((a) => a.name.startsWith(`${stem}.`) && isPlayable(a))

function Download ({ job, artifact, label }: { job: Job, artifact: Artifact | undefined, label: string }) {
  if (!artifact) return null
  return <a className="button secondary" href={artifactUrl(job, artifact.name)} download={artifact.name}>{label}<span className="visually-hidden"> ({artifact.name})</span></a>
}

interface SpeakResult { voice: string, language: string, format: string, durationSec: number, characters: number, speed: number }

export function speechShows (job: Job): string[] {
  const audio = audioOf(job, 'speech')
  return audio ? [audio.name] : []
}

export function SpeechView ({ job }: { job: Job }) {
  const audio = audioOf(job, 'speech')
  const r = job.result as SpeakResult | null
  const text = typeof job.params.text === 'string' ? job.params.text : undefined
  if (!audio) return null
  return (
    <section className="card" aria-labelledby="speech-title">
      <div className="section-head">
        <h2 id="speech-title">Speech</h2>
        <div className="row"><Download job={job} artifact={audio} label={`Download ${audio.name.split('.').pop()!.toUpperCase()}`} /></div>
      </div>
      <Waveform url={artifactUrl(job, audio.name)} label="the speech" />
      {r && (
        <dl className="facts">
          <div><dt>Voice</dt><dd className="mono">{r.voice}</dd></div>
          <div><dt>Language</dt><dd>{r.language}</dd></div>
          <div><dt>Length</dt><dd>{formatDuration(r.durationSec)}</dd></div>
          <div><dt>Speed</dt><dd>{r.speed}×</dd></div>
          <div><dt>Characters</dt><dd>{r.characters.toLocaleString('en')}</dd></div>
        </dl>
      )}
      {text && (
        <figure className="spoken">
          <figcaption>The text spoken</figcaption>
          <blockquote className="translation-text">{text}</blockquote>
        </figure>
      )}
    </section>
  )
}

interface Composition {
  about?: string
  prompt?: string
  seed?: { value: number, from: string }
  durationSec?: number
  genre?: { value: string, from: string }
  mood?: { value: string | null, from: string }
  tempo?: { bpm: number, from: string }
  key?: { value: string, from: string }
  timeSignature?: string
  form?: Array<{ section: string, bars: number, startSec: number, progression: string[] }>
  ending?: string
  instruments?: Array<{ part: string, instrument: string, from: string }>
  notUnderstood?: string[]
  render?: { synthesiser?: string, soundfont?: string }
}

export function musicShows (job: Job): string[] {
  const audio = audioOf(job, 'music')
  return [...(audio ? [audio.name] : []), 'composition.json', 'music.mid'].filter((name) => job.artifacts.some((a) => a.name === name))
}

export function MusicView ({ job }: { job: Job }) {
  const audio = audioOf(job, 'music')
  const json = job.artifacts.find((a) => a.name === 'composition.json')
  const midi = job.artifacts.find((a) => a.name === 'music.mid')
  const composition = useLoad(async (signal) => {
    if (!json) return undefined
    const response = await send(artifactUrl(job, json.name), { signal })
    if (!response.ok) throw new ApiError(await problemOf(response))
    return await response.json() as Composition
  }, [job.id, json?.name])
  const c = composition.data

  return (
    <section className="card" aria-labelledby="music-result-title">
      <div className="section-head">
        <h2 id="music-result-title">Music</h2>
        <div className="row" role="group" aria-label="Download the piece">
          <Download job={job} artifact={audio} label={audio ? audio.name.split('.').pop()!.toUpperCase() : ''} />
          <Download job={job} artifact={midi} label="MIDI" />
          <Download job={job} artifact={json} label="composition.json" />
        </div>
      </div>
      {audio && <Waveform url={artifactUrl(job, audio.name)} label="the generated music" />}
      <ErrorAlert error={composition.error} />
      {c && (
        <>
          {c.prompt && <p className="prompt-line">“{c.prompt}”</p>}
          <dl className="facts">
            {c.genre && <div><dt>Genre</dt><dd>{c.genre.value} <span className="from">{c.genre.from}</span></dd></div>}
            {c.mood && <div><dt>Mood</dt><dd>{c.mood.value ?? 'none'} <span className="from">{c.mood.from}</span></dd></div>}
            {c.tempo && <div><dt>Tempo</dt><dd>{c.tempo.bpm} BPM <span className="from">{c.tempo.from}</span></dd></div>}
            {c.key && <div><dt>Key</dt><dd>{c.key.value} <span className="from">{c.key.from}</span></dd></div>}
            {c.seed && <div><dt>Seed</dt><dd><span className="mono">{c.seed.value}</span> <span className="from">{c.seed.from}</span></dd></div>}
            {c.durationSec !== undefined && <div><dt>Length</dt><dd>{formatDuration(c.durationSec)}{c.timeSignature ? ` in ${c.timeSignature}` : ''}</dd></div>}
          </dl>
          {c.form && c.form.length > 0 && (
            <div className="table-wrap">
              <table>
                <caption>Form</caption>
                <thead><tr><th scope="col">Section</th><th scope="col">Starts</th><th scope="col">Bars</th><th scope="col">Chords</th></tr></thead>
                <tbody>
                  {c.form.map((s, i) => (
                    <tr key={`${s.section}-${i}`}>
                      <td data-label="Section">{s.section}</td>
                      <td data-label="Starts">{formatDuration(s.startSec)}</td>
                      <td data-label="Bars">{s.bars}</td>
                      <td data-label="Chords" className="mono">{s.progression.join(' – ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {c.ending && <p className="muted">Ending: {c.ending}.</p>}
          {c.instruments && c.instruments.length > 0 && (
            <>
              <h3>Instruments</h3>
              <ul className="instrument-list">
                {c.instruments.map((p) => <li key={p.part}><strong>{p.part}</strong>: {p.instrument} <span className="from">{p.from}</span></li>)}
              </ul>
            </>
          )}
          {c.notUnderstood && c.notUnderstood.length > 0 && <p className="muted">Words it did not use: {c.notUnderstood.join(', ')}.</p>}
          {c.about && <p className="hint">{c.about}{c.render?.synthesiser ? ` Rendered by ${c.render.synthesiser}${c.render.soundfont ? ` with ${c.render.soundfont}` : ''}.` : ''}</p>}
        </>
      )}
    </section>
  )
}
