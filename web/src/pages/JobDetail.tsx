import { useEffect, useRef, useState } from 'react'
import { api, errorText, refreshSession } from '../api.ts'
import { JobResults } from '../components/Results.tsx'
import { Link, navigate } from '../router.tsx'
import { useMe } from '../session.tsx'
import type { AudioFile, Job } from '../types.ts'
import { Alert, ErrorAlert, formatDate, PageTitle, StatusBadge, useLoad } from '../ui.tsx'
import { unfinished } from './Jobs.tsx'

interface Live { status?: string, progress?: number, stage?: string }

/**
 * Follows a job over Server-Sent Events until `done`. EventSource reconnects by itself (with
 * Last-Event-ID) when a stream ends at its maximum life; a stream refused because the access
 * token expired is reopened once the session is refreshed.
 */
function useJobEvents (id: string, active: boolean, onDone: (job: Job) => void): Live {
  const [live, setLive] = useState<Live>({})
  const doneRef = useRef(onDone)
  doneRef.current = onDone
  useEffect(() => {
    if (!active) return
    let source: EventSource | undefined
    let lastId = 0
    let closed = false
    let reopenings = 0
    const open = () => {
      source = new EventSource(`/api/v1/jobs/${id}/events${lastId ? `?lastEventId=${lastId}` : ''}`)
      const track = (event: MessageEvent) => { if (event.lastEventId) lastId = Number(event.lastEventId) }
      source.addEventListener('status', (event) => { track(event); const data = JSON.parse(event.data) as { status: string }; setLive((l) => ({ ...l, status: data.status })) })
      source.addEventListener('progress', (event) => { track(event); const data = JSON.parse(event.data) as { progress: number, stage: string }; setLive((l) => ({ ...l, progress: data.progress, stage: data.stage })) })
      source.addEventListener('done', (event) => { closed = true; source?.close(); doneRef.current(JSON.parse(event.data) as Job) })
      source.addEventListener('deleted', () => { closed = true; source?.close(); navigate('/jobs', { replace: true }) })
      source.onerror = () => {
        if (closed || source?.readyState !== EventSource.CLOSED || reopenings >= 3) return
        reopenings++
        void refreshSession().then(() => { if (!closed) open() })
      }
    }
    open()
    return () => { closed = true; source?.close() }
  }, [id, active])
  return live
}

export function JobDetailPage ({ id }: { id: string }) {
  const me = useMe()
  const loaded = useLoad((signal) => api<Job>(`/api/v1/jobs/${id}`, { signal }), [id])
  const [finished, setFinished] = useState<Job>()
  const [notice, setNotice] = useState<string>()
  const job = finished ?? loaded.data
  const live = useJobEvents(id, Boolean(loaded.data && unfinished(loaded.data)) && !finished, setFinished)

  const status = finished?.status ?? live.status ?? job?.status
  const progress = live.progress ?? job?.progress ?? 0
  const stage = live.stage ?? job?.stage ?? ''
  const running = status === 'queued' || status === 'running'

  const cancelOrDelete = async () => {
    if (!job) return
    if (!running && !window.confirm('Delete this job and the files it made?')) return
    try {
      const answer = await api<Job | undefined>(`/api/v1/jobs/${job.id}`, { method: 'DELETE' })
      if (answer) { setFinished(answer); setNotice('The job was canceled.') } else navigate('/jobs')
    } catch (error) {
      setNotice(errorText(error))
    }
  }

  return (
    <>
      <PageTitle actions={job && me.scopes.includes('jobs:write') && <button type="button" className="button danger" onClick={() => { void cancelOrDelete() }}>{running ? 'Cancel job' : 'Delete job'}</button>}>
        {job ? `${job.type.charAt(0).toUpperCase()}${job.type.slice(1)} job` : 'Job'}
      </PageTitle>
      <p><Link to="/jobs">← All jobs</Link></p>
      <ErrorAlert error={loaded.error} />
      {notice && <Alert kind="info">{notice}</Alert>}
      {job && (
        <section className="card" aria-labelledby="job-status-title">
          <h2 id="job-status-title" className="visually-hidden">Status</h2>
          <dl className="facts">
            <div><dt>Status</dt><dd><StatusBadge status={status ?? job.status} /></dd></div>
            <div><dt>Created</dt><dd>{formatDate(job.createdAt)}</dd></div>
            <div><dt>Finished</dt><dd>{formatDate(job.finishedAt)}</dd></div>
            {job.fileId && <div><dt>Input</dt><dd><InputFile id={job.fileId} /></dd></div>}
          </dl>
          {Object.keys(job.params).length > 0 && (
            <details className="job-params">
              <summary>Parameters ({Object.keys(job.params).length})</summary>
              <dl>
                {Object.entries(job.params).map(([k, v]) => <div key={k}><dt className="mono">{k}</dt><dd className="mono">{paramText(v)}</dd></div>)}
              </dl>
            </details>
          )}
          {running && (
            <div className="progress-block">
              <label htmlFor="job-progress">{stage || status}</label>
              <progress id="job-progress" max={1} value={progress} />
              <span aria-live="polite">{Math.round(progress * 100)}%</span>
            </div>
          )}
          {job.status === 'failed' && job.error && <Alert kind="error">{job.error}</Alert>}
        </section>
      )}
      {job?.status === 'succeeded' && <JobResults job={job} />}
    </>
  )
}

// A long text param (speech, a prompt) is shown in full by its result view; here its start.
const PARAM_SHOWN_CHARS = 160
function paramText (value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > PARAM_SHOWN_CHARS ? `${text.slice(0, PARAM_SHOWN_CHARS)}…` : text
}

/** The input's name, or a word that it is gone (files expire before their jobs do). */
function InputFile ({ id }: { id: string }) {
  const file = useLoad((signal) => api<AudioFile>(`/api/v1/files/${id}`, { signal }), [id])
  if (file.error) return <span className="muted">deleted</span>
  return <Link to={`/files/${id}`}>{file.data?.name ?? 'the file'}</Link>
}
