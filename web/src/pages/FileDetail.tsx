import { api, errorText, query } from '../api.ts'
import { JobStarter } from '../components/JobForm.tsx'
import { Waveform } from '../components/Waveform.tsx'
import { Link, navigate } from '../router.tsx'
import { useMe } from '../session.tsx'
import type { AudioFile, Job, Page } from '../types.ts'
import { fileContentUrl } from '../urls.ts'
import { Empty, ErrorAlert, formatBytes, formatDate, formatDuration, PageTitle, Pager, StatusBadge, useCursor, useLoad } from '../ui.tsx'
import { useEffect, useState } from 'react'
import { unfinished } from './Jobs.tsx'

const JOBS_PAGE_SIZE = 10
const REFRESH_MS = 3000

export function FileDetailPage ({ id }: { id: string }) {
  const me = useMe()
  const file = useLoad((signal) => api<AudioFile>(`/api/v1/files/${id}`, { signal }), [id])
  const [error, setError] = useState<unknown>()
  const f = file.data

  const remove = async () => {
    if (!f || !window.confirm(`Delete ${f.name}?`)) return
    try {
      await api(`/api/v1/files/${f.id}`, { method: 'DELETE' })
      navigate('/files')
    } catch (reason) {
      setError(new Error(errorText(reason)))
    }
  }

  return (
    <>
      <PageTitle actions={f && me.scopes.includes('files:write') && <button type="button" className="button danger" onClick={() => { void remove() }}>Delete file</button>}>
        {f ? f.name : 'File'}
      </PageTitle>
      <p><Link to="/files">← All files</Link></p>
      <ErrorAlert error={file.error ?? error} />
      {f && (
        <section className="card" aria-labelledby="file-audio-title">
          <h2 id="file-audio-title">Audio</h2>
          <Waveform url={fileContentUrl(f.id)} label={f.name} />
          <dl className="facts">
            <div><dt>Length</dt><dd>{formatDuration(f.durationSec)}</dd></div>
            <div><dt>Format</dt><dd>{f.format.toUpperCase()} ({f.codec})</dd></div>
            <div><dt>Sample rate</dt><dd>{f.sampleRate / 1000} kHz, {f.channels === 1 ? 'mono' : `${f.channels} channels`}</dd></div>
            <div><dt>Size</dt><dd>{formatBytes(f.size)}</dd></div>
            <div><dt>Uploaded</dt><dd>{formatDate(f.createdAt)}</dd></div>
            <div><dt>Kept until</dt><dd>{formatDate(f.expiresAt)}</dd></div>
          </dl>
          <p><a className="button secondary" href={fileContentUrl(f.id)} download={f.name}>Download the original</a></p>
        </section>
      )}
      {f && me.scopes.includes('jobs:read') && <FileJobs fileId={f.id} />}
      {f && me.scopes.includes('jobs:write') && <JobStarter fileId={f.id} />}
    </>
  )
}

/** The jobs started on this file, newest first; refreshed while one is unfinished. */
function FileJobs ({ fileId }: { fileId: string }) {
  const paging = useCursor()
  const jobs = useLoad((signal) => api<Page<Job>>(`/api/v1/jobs${query({ fileId, limit: JOBS_PAGE_SIZE, cursor: paging.cursor })}`, { signal }), [fileId, paging.cursor])
  const busy = jobs.data?.items.some(unfinished) ?? false
  const { reload } = jobs
  useEffect(() => {
    if (!busy) return
    const timer = setInterval(reload, REFRESH_MS)
    return () => clearInterval(timer)
  }, [busy, reload])

  return (
    <section className="card" aria-labelledby="file-jobs-title">
      <h2 id="file-jobs-title">Jobs on this file</h2>
      <ErrorAlert error={jobs.error} />
      {jobs.data && jobs.data.items.length === 0 && <Empty>No job has used this file yet. Start one below.</Empty>}
      {jobs.data && jobs.data.items.length > 0 && (
        <ul className="job-lines">
          {jobs.data.items.map((job) => (
            <li key={job.id}>
              <Link to={`/jobs/${job.id}`}>{job.type}<span className="visually-hidden"> job {job.id.slice(0, 8)}</span></Link>
              <StatusBadge status={job.status} />
              <span className="muted">{unfinished(job) ? `${Math.round(job.progress * 100)}% ${job.stage}` : formatDate(job.finishedAt ?? job.createdAt)}</span>
            </li>
          ))}
        </ul>
      )}
      <Pager label="Jobs on this file" page={paging.page} hasNext={Boolean(jobs.data?.nextCursor)} onNext={() => jobs.data?.nextCursor && paging.next(jobs.data.nextCursor)} onPrevious={paging.previous} />
    </section>
  )
}
