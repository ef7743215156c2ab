import { useMemo, useRef, useState } from 'react'
import { ApiError, problemOf, send } from '../api.ts'
import { languageName } from '../languages.ts'
import type { Job } from '../types.ts'
import { ErrorAlert, formatDuration, useLoad } from '../ui.tsx'
import { artifactUrl, fileContentUrl } from '../urls.ts'
import { Waveform, type PlayerHandle } from './Waveform.tsx'

// A speech translation (`translate` job): what was said and its translation, segment by
// segment side by side (from translation.json), the subtitles of both as downloads, the
// source audio (select a segment to hear it) and the translated speech when the job spoke.

interface Segment { id: number, start: number, end: number, source: string, text: string }
interface TranslationFile { source_lang: string, target_lang: string, route: string[], duration: number, text: string, segments: Segment[] }
interface SpeechTranslationResult { source_lang: string, target_lang: string, route: string[], engine: string, speech?: { voice: string, duration: number, maxSpeed: number, delayedClips: number } }

const SUBTITLES = ['srt', 'vtt', 'txt']

export const speechTranslationShows = (job: Job): string[] =>
  job.artifacts.some((a) => a.name === 'translation.json')
    ? job.artifacts.filter((a) => /^(translation|source)\.(srt|vtt|txt|json)$/.test(a.name) || a.name === 'speech.wav').map((a) => a.name)
    : []

export function SpeechTranslationView ({ job }: { job: Job }) {
  const source = useRef<PlayerHandle | null>(null)
  const [now, setNow] = useState(-1)
  const r = job.result as SpeechTranslationResult | null
  const file = useLoad(async (signal) => {
    const response = await send(artifactUrl(job, 'translation.json'), { signal })
    if (!response.ok) throw new ApiError(await problemOf(response))
    return await response.json() as TranslationFile
  }, [job.id])
  const t = file.data
  const current = useMemo(() => t?.segments.findIndex((s) => now >= s.start && now < s.end + 0.3) ?? -1, [t, now])
  const has = (name: string) => job.artifacts.some((a) => a.name === name)
  const from = languageName(t?.source_lang ?? r?.source_lang ?? '')
  const to = languageName(t?.target_lang ?? r?.target_lang ?? '')
  const speech = job.artifacts.find((a) => a.name === 'speech.wav')

  return (
    <section className="card" aria-labelledby="speech-translation-title">
      <div className="section-head">
        <h2 id="speech-translation-title">Translation</h2>
        <div className="download-groups">
          {(['translation', 'source'] as const).map((kind) => (
            <div key={kind} className="row" role="group" aria-label={`Download the ${kind === 'source' ? `${from} transcript` : `${to} subtitles`}`}>
              <span className="muted">{kind === 'source' ? from : to}:</span>
              {SUBTITLES.filter((ext) => has(`${kind}.${ext}`)).map((ext) => (
                <a key={ext} className="button secondary" href={artifactUrl(job, `${kind}.${ext}`)} download={`${kind}.${ext}`}>{ext.toUpperCase()}<span className="visually-hidden"> ({kind}.{ext})</span></a>
              ))}
            </div>
          ))}
        </div>
      </div>
      {r && <p className="muted">{r.route.map(languageName).join(' → ')}{r.route.length > 2 ? ' (through a pivot language)' : ''} · recognised by {r.engine}</p>}
      {job.fileId && (
        <>
          <h3>The original</h3>
          <Waveform url={fileContentUrl(job.fileId)} label="the original speech" handle={source} onTime={setNow} />
        </>
      )}
      {speech && (
        <>
          <h3>Spoken in {to}</h3>
          <Waveform url={artifactUrl(job, speech.name)} label={`the speech in ${to}`} />
          {r?.speech && <p className="hint">Voice {r.speech.voice}; clips sped up to {r.speech.maxSpeed.toFixed(2)}× at most to keep to the original's timing{r.speech.delayedClips > 0 ? `, ${r.speech.delayedClips} started late` : ''}.</p>}
        </>
      )}
      <ErrorAlert error={file.error} />
      {t && t.segments.length === 0 && <p className="muted">No speech was recognised.</p>}
      {t && t.segments.length > 0 && (
        <div className="table-wrap">
          <table className="aligned">
            <caption className="visually-hidden">Each segment and its translation</caption>
            <thead><tr><th scope="col">Time</th><th scope="col">{from}</th><th scope="col">{to}</th></tr></thead>
            <tbody>
              {t.segments.map((s, i) => (
                <tr key={s.id} className={i === current ? 'segment-current' : undefined} aria-current={i === current ? 'true' : undefined}>
                  <td data-label="Time">
                    <button type="button" className="button link" onClick={() => { source.current?.seek(s.start); setNow(s.start) }} disabled={!job.fileId}>
                      {formatDuration(s.start)}<span className="visually-hidden"> play from here</span>
                    </button>
                  </td>
                  <td data-label={from} lang={t.source_lang}>{s.source}</td>
                  <td data-label={to} lang={t.target_lang}>{s.text}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
