import { useMemo, useRef, useState } from 'react'
import { ApiError, problemOf, send } from '../api.ts'
import type { Artifact, Job, Transcript, TranscriptWord } from '../types.ts'
import { Empty, ErrorAlert, formatBytes, formatDuration, useLoad } from '../ui.tsx'
import { artifactUrl, fileContentUrl } from '../urls.ts'
import { isPlayable } from './artifact-kinds.ts'
import { MusicView, musicShows, SpeechView, speechShows } from './MadeViews.tsx'
import { Mixer } from './Mixer.tsx'
import { SpeechTranslationView, speechTranslationShows } from './SpeechTranslationView.tsx'
import { Waveform, type PlayerHandle } from './Waveform.tsx'

// What a finished job shows: the views that know a type's result (transcript, analysis),
// then every artifact by its content type, so a new job type is visible without UI changes.


// Text and JSON are shown inline up to this size; larger ones are offered as downloads.
const INLINE_MAX_BYTES = 256 * 1024

const isAudio = isPlayable
const isImage = (a: Artifact) => a.contentType.startsWith('image/')
const isJson = (a: Artifact) => a.contentType.startsWith('application/json') || a.name.endsWith('.json')
const isText = (a: Artifact) => a.contentType.startsWith('text/') || /\.(srt|vtt|txt)$/.test(a.name)

function asTranscript (result: unknown): Transcript | undefined {
  const r = result as Partial<Transcript> | null
  return r && typeof r.text === 'string' && Array.isArray(r.segments) ? r as Transcript : undefined
}

export function JobResults ({ job }: { job: Job }) {
  const transcript = job.type === 'transcribe' ? asTranscript(job.result) : undefined
  const shownByView = new Set<string>()
  if (transcript) for (const a of job.artifacts) if (a.name.startsWith('transcript.')) shownByView.add(a.name)
  if (job.type === 'analyze') for (const name of ['waveform.png', 'spectrogram.png', 'waveform.json']) shownByView.add(name)
  const separation = job.type === 'separate' ? asSeparation(job.result) : undefined
  const stems = separation ? separation.stems.map((name) => job.artifacts.find((a) => a.name.startsWith(`${name}.`) && isAudio(a))).filter((a): a is Artifact => Boolean(a)) : []
  if (stems.length > 0) for (const name of [...stems.map((a) => a.name), 'summary.json']) shownByView.add(name)
  const speechTranslation = job.type === 'translate' ? speechTranslationShows(job) : []
  const speech = job.type === 'speak' ? speechShows(job) : []
  const music = job.type === 'generate' ? musicShows(job) : []
  for (const name of [...speechTranslation, ...speech, ...music]) shownByView.add(name)
  const rest = job.artifacts.filter((a) => !shownByView.has(a.name))
  const known = Boolean(transcript) || job.type === 'analyze' || stems.length > 0 || speechTranslation.length > 0 || speech.length > 0 || music.length > 0
  return (
    <>
      {transcript && <TranscriptView job={job} transcript={transcript} />}
      {job.type === 'analyze' && <AnalysisView job={job} />}
      {separation && stems.length > 0 && <SeparationView job={job} separation={separation} stems={stems} />}
      {speechTranslation.length > 0 && <SpeechTranslationView job={job} />}
      {speech.length > 0 && <SpeechView job={job} />}
      {music.length > 0 && <MusicView job={job} />}
      {rest.length > 0 && <ArtifactList job={job} artifacts={rest} />}
      {!known && job.result !== null && job.result !== undefined && (
        <section className="card" aria-labelledby="result-title">
          <h2 id="result-title">Result</h2>
          <pre className="code">{JSON.stringify(job.result, null, 2)}</pre>
        </section>
      )}
    </>
  )
}

interface Separation { method: string, stems: string[], format: string, sampleRate: number, channels: number, durationSec: number, energyShare?: Record<string, number> }

function asSeparation (result: unknown): Separation | undefined {
  const r = result as Partial<Separation> | null
  return r && Array.isArray(r.stems) && r.stems.every((s) => typeof s === 'string') ? r as Separation : undefined
}

function SeparationView ({ job, separation, stems }: { job: Job, separation: Separation, stems: Artifact[] }) {
  const summary = job.artifacts.find((a) => a.name === 'summary.json')
  return (
    <section className="card" aria-labelledby="stems-title">
      <div className="section-head">
        <h2 id="stems-title">Stems</h2>
        {summary && <a className="button link" href={artifactUrl(job, summary.name)} download={summary.name}>summary.json</a>}
      </div>
      <Mixer job={job} stems={stems} shares={separation.energyShare} />
      <dl className="facts">
        <div><dt>Method</dt><dd className="mono">{separation.method}</dd></div>
        <div><dt>Length</dt><dd>{formatDuration(separation.durationSec)}</dd></div>
        <div><dt>Sample rate</dt><dd>{separation.sampleRate / 1000} kHz · {separation.channels === 1 ? 'mono' : `${separation.channels} channels`}</dd></div>
        <div><dt>Format</dt><dd>{separation.format.toUpperCase()}</dd></div>
      </dl>
      <p className="hint">Played together, the stems add up to the original. A stem's share is its part of their total energy.</p>
    </section>
  )
}

function TranscriptView ({ job, transcript }: { job: Job, transcript: Transcript }) {
  const player = useRef<PlayerHandle | null>(null)
  const [now, setNow] = useState(-1)
  const words = useMemo(() => transcript.segments.flatMap((s) => s.words.map((w, i) => ({ ...w, key: `${s.id}-${i}` }))), [transcript])
  const current = useMemo(() => currentWord(words, now), [words, now])
  const downloads = ['srt', 'vtt', 'txt'].map((ext) => job.artifacts.find((a) => a.name === `transcript.${ext}`)).filter((a): a is Artifact => Boolean(a))

  return (
    <section className="card" aria-labelledby="transcript-title">
      <div className="section-head">
        <h2 id="transcript-title">Transcript</h2>
        <div className="row" role="group" aria-label="Download the transcript">
          {downloads.map((a) => <a key={a.name} className="button secondary" href={artifactUrl(job, a.name)} download={a.name}>{a.name.split('.').pop()!.toUpperCase()}</a>)}
        </div>
      </div>
      {job.fileId && <Waveform url={fileContentUrl(job.fileId)} label="the transcribed audio" handle={player} onTime={setNow} />}
      <p className="muted">Language {transcript.language}{transcript.engine ? ` · ${transcript.engine}` : ''} · {formatDuration(transcript.duration)}. Select a word to play from there.</p>
      {words.length === 0 && <p className="transcript-text">{transcript.text || 'No speech was recognised.'}</p>}
      {words.length > 0 && (
        <p className="transcript" aria-label="Transcript words">
          {words.map((w, i) => (
            <button
              key={w.key}
              type="button"
              className={`word${i === current ? ' word-current' : ''}`}
              aria-current={i === current ? 'true' : undefined}
              title={`${formatDuration(w.start)}–${formatDuration(w.end)}`}
              onClick={() => { player.current?.seek(w.start); setNow(w.start) }}
            >{w.word}</button>
          ))}
        </p>
      )}
    </section>
  )
}

/** The word being spoken at `t` (binary search over start times), or -1. */
function currentWord (words: TranscriptWord[], t: number): number {
  let lo = 0
  let hi = words.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (words[mid]!.start <= t) { found = mid; lo = mid + 1 } else hi = mid - 1
  }
  return found >= 0 && t < words[found]!.end + 0.15 ? found : -1
}

interface AnalyzeResult {
  format: string
  codec: string
  durationSec: number
  sampleRate: number
  channels: number
  bitRate?: number | null
  loudness: { integratedLufs: number | null, rangeLu: number | null, truePeakDbtp: number | null }
  levels: Array<{ channel: number, rmsDb: number | null, peakDb: number | null }>
  silenceRatio: number
  tempo: { bpm: number, confidence: number } | null
  key: { label: string, confidence: number } | null
}

const db = (v: number | null | undefined, unit: string) => v === null || v === undefined ? 'silent' : `${v.toFixed(1)} ${unit}`

function AnalysisView ({ job }: { job: Job }) {
  const r = job.result as AnalyzeResult | null
  const has = (name: string) => job.artifacts.some((a) => a.name === name)
  if (!r) return null
  return (
    <section className="card" aria-labelledby="analysis-title">
      <h2 id="analysis-title">Analysis</h2>
      <dl className="figures">
        <div><dt>Integrated loudness</dt><dd>{db(r.loudness.integratedLufs, 'LUFS')}</dd></div>
        <div><dt>Loudness range</dt><dd>{db(r.loudness.rangeLu, 'LU')}</dd></div>
        <div><dt>True peak</dt><dd>{db(r.loudness.truePeakDbtp, 'dBTP')}</dd></div>
        <div><dt>Silence</dt><dd>{Math.round(r.silenceRatio * 100)}%</dd></div>
        <div><dt>Tempo</dt><dd>{r.tempo ? `${r.tempo.bpm} BPM` : 'none found'}</dd></div>
        <div><dt>Key</dt><dd>{r.key ? r.key.label : 'none found'}</dd></div>
        <div><dt>Format</dt><dd>{r.format} · {r.codec}</dd></div>
        <div><dt>Length</dt><dd>{formatDuration(r.durationSec)}</dd></div>
        <div><dt>Sample rate</dt><dd>{r.sampleRate / 1000} kHz · {r.channels === 1 ? 'mono' : `${r.channels} channels`}</dd></div>
      </dl>
      {r.levels.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption>Levels per channel</caption>
            <thead><tr><th scope="col">Channel</th><th scope="col">RMS</th><th scope="col">Peak</th></tr></thead>
            <tbody>{r.levels.map((l) => <tr key={l.channel}><td>{l.channel + 1}</td><td>{db(l.rmsDb, 'dBFS')}</td><td>{db(l.peakDb, 'dBFS')}</td></tr>)}</tbody>
          </table>
        </div>
      )}
      {job.fileId && <Waveform url={fileContentUrl(job.fileId)} label="the analysed audio" />}
      <div className="pictures">
        {has('waveform.png') && <figure><img src={artifactUrl(job, 'waveform.png')} alt="Waveform image drawn by the server" /><figcaption>Waveform</figcaption></figure>}
        {has('spectrogram.png') && <figure><img src={artifactUrl(job, 'spectrogram.png')} alt="Spectrogram: frequency over time, brighter is louder" /><figcaption>Spectrogram</figcaption></figure>}
      </div>
    </section>
  )
}

export function ArtifactList ({ job, artifacts }: { job: Job, artifacts: Artifact[] }) {
  const audio = artifacts.filter(isAudio)
  const texts = artifacts.filter((a) => isText(a) && !isJson(a))
  const others = artifacts.filter((a) => !isAudio(a) && !texts.includes(a))
  return (
    <section className="card" aria-labelledby="artifacts-title">
      <h2 id="artifacts-title">Files this job made</h2>
      {artifacts.length === 0 && <Empty>None.</Empty>}
      {audio.length > 1 && <Mixer job={job} stems={audio} />}
      {audio.length === 1 && <ArtifactBlock job={job} artifact={audio[0]!} />}
      {texts.length > 0 && <div className={texts.length > 1 ? 'side-by-side' : undefined}>{texts.map((a) => <ArtifactBlock key={a.name} job={job} artifact={a} />)}</div>}
      {others.map((a) => <ArtifactBlock key={a.name} job={job} artifact={a} />)}
    </section>
  )
}

function ArtifactBlock ({ job, artifact }: { job: Job, artifact: Artifact }) {
  const url = artifactUrl(job, artifact.name)
  return (
    <article className="artifact">
      <header className="artifact-head">
        <h3>{artifact.name}</h3>
        <span className="muted">{artifact.contentType} · {formatBytes(artifact.size)}</span>
        <a className="button link" href={url} download={artifact.name}>Download <span className="visually-hidden">{artifact.name}</span></a>
      </header>
      {isAudio(artifact) && <Waveform url={url} label={artifact.name} />}
      {isImage(artifact) && <img className="artifact-image" src={url} alt={`${artifact.name}, made by this job`} />}
      {(isJson(artifact) || isText(artifact)) && !isAudio(artifact) && <InlineText url={url} size={artifact.size} json={isJson(artifact)} />}
    </article>
  )
}

function InlineText ({ url, size, json }: { url: string, size: number, json: boolean }) {
  const text = useLoad(async (signal) => {
    if (size > INLINE_MAX_BYTES) return undefined
    const response = await send(url, { signal })
    if (!response.ok) throw new ApiError(await problemOf(response))
    const body = await response.text()
    if (!json) return body
    try { return JSON.stringify(JSON.parse(body), null, 2) } catch { return body }
  }, [url, size, json])
  if (size > INLINE_MAX_BYTES) return <p className="muted">Too large to show here; download it.</p>
  return (
    <>
      <ErrorAlert error={text.error} />
      {text.data !== undefined && <pre className="code">{text.data}</pre>}
    </>
  )
}
