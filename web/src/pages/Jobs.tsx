import { useEffect, useState } from 'react'
import { api, errorText, query } from '../api.ts'
import { JobStarter } from '../components/JobForm.tsx'
import { Link } from '../router.tsx'
import { useMe } from '../session.tsx'
import type { Job, JobStatus, JobType, Page } from '../types.ts'
import { Alert, Empty, ErrorAlert, formatDate, PageTitle, Pager, StatusBadge, useCursor, useLoad } from '../ui.tsx'

const STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled']
const PAGE_SIZE = 20
// While a listed job is unfinished the list refreshes itself; a job's own page streams events.
const REFRESH_MS = 3000

export const unfinished = (job: Job) => job.status === 'queued' || job.status === 'running'

export function JobsPage () {
  const me = useMe()
  const [status, setStatus] = useState('')
  const [type, setType] = useState('')
  const paging = useCursor()
  const [notice, setNotice] = useState<string>()
  const types = useLoad((signal) => api<{ items: JobType[] }>('/api/v1/job-types', { signal }), [])
  const jobs = useLoad((signal) => api<Page<Job>>(`/api/v1/jobs${query({ limit: PAGE_SIZE, cursor: paging.cursor, status, type })}`, { signal }), [paging.cursor, status, type])
  const busy = jobs.data?.items.some(unfinished) ?? false
  const { reload } = jobs

  useEffect(() => {
    if (!busy) return
    const timer = setInterval(reload, REFRESH_MS)
    return () => clearInterval(timer)
  }, [busy, reload])

  const remove = async (job: Job) => {
    const cancel = unfinished(job)
    if (!cancel && !window.confirm(`Delete this ${job.type} job and the files it made?`)) return
    try {
      await api(`/api/v1/jobs/${job.id}`, { method: 'DELETE' })
      setNotice(cancel ? 'The job was canceled.' : 'The job was deleted.')
      jobs.reload()
    } catch (error) {
      setNotice(errorText(error))
    }
  }

  return (
    <>
      <PageTitle>Jobs</PageTitle>
      {me.scopes.includes('jobs:write') && <JobStarter />}
      <section className="card" aria-labelledby="jobs-title">
        <div className="section-head">
          <h2 id="jobs-title">Your jobs</h2>
          <div className="filters">
            <div className="field">
              <label htmlFor="job-status">Status</label>
              <select id="job-status" value={status} onChange={(e) => { setStatus(e.target.value); paging.reset() }}>
                <option value="">Any</option>
                {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
              </select>
            </div>
            <div className="field">
              <label htmlFor="job-type-filter">Type</label>
              <select id="job-type-filter" value={type} onChange={(e) => { setType(e.target.value); paging.reset() }}>
                <option value="">Any</option>
                {types.data?.items.map((t) => <option key={t.name} value={t.name}>{t.name}</option>)}
              </select>
            </div>
          </div>
        </div>
        {notice && <Alert kind="info">{notice}</Alert>}
        <ErrorAlert error={jobs.error} />
        {jobs.data && jobs.data.items.length === 0 && <Empty>{status || type ? 'No job matches these filters.' : 'No jobs yet. Start one above or from a file.'}</Empty>}
        {jobs.data && jobs.data.items.length > 0 && (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Your jobs, newest first</caption>
              <thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">Created</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
              <tbody>
                {jobs.data.items.map((job) => (
                  <tr key={job.id}>
                    <td data-label="Job"><Link to={`/jobs/${job.id}`}>{job.type}</Link> <span className="muted mono">{job.id.slice(0, 8)}</span></td>
                    <td data-label="Status"><StatusBadge status={job.status} /></td>
                    <td data-label="Progress">{unfinished(job) ? `${Math.round(job.progress * 100)}% ${job.stage}` : job.error ?? '—'}</td>
                    <td data-label="Created">{formatDate(job.createdAt)}</td>
                    <td className="actions">
                      {me.scopes.includes('jobs:write') && <button type="button" className="button link danger" onClick={() => { void remove(job) }}>{unfinished(job) ? 'Cancel' : 'Delete'}<span className="visually-hidden"> job {job.id.slice(0, 8)}</span></button>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager label="Jobs" page={paging.page} hasNext={Boolean(jobs.data?.nextCursor)} onNext={() => jobs.data?.nextCursor && paging.next(jobs.data.nextCursor)} onPrevious={paging.previous} />
      </section>
    </>
  )
}
