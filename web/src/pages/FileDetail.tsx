import { api, errorText } from '../api.ts'
import { JobStarter } from '../components/JobForm.tsx'
import { Waveform } from '../components/Waveform.tsx'
import { Link, navigate } from '../router.tsx'
import { useMe } from '../session.tsx'
import type { AudioFile } from '../types.ts'
import { fileContentUrl } from '../urls.ts'
import { ErrorAlert, formatBytes, formatDate, formatDuration, PageTitle, useLoad } from '../ui.tsx'
import { useState } from 'react'

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
      {f && me.scopes.includes('jobs:write') && <JobStarter fileId={f.id} />}
    </>
  )
}
