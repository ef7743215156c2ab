import { useEffect, useState } from 'react'
import { api, errorText, query } from '../api.ts'
import { UploadZone } from '../components/UploadZone.tsx'
import { Link } from '../router.tsx'
import { useMe } from '../session.tsx'
import type { AudioFile, Page } from '../types.ts'
import { Alert, Empty, ErrorAlert, formatBytes, formatDate, formatDuration, PageTitle, Pager, useCursor, useLoad } from '../ui.tsx'

const PAGE_SIZE = 20

export function FilesPage () {
  const me = useMe()
  const canWrite = me.scopes.includes('files:write')
  const [search, setSearch] = useState('')
  const [q, setQ] = useState('')
  const paging = useCursor()
  const [notice, setNotice] = useState<string>()
  const files = useLoad((signal) => api<Page<AudioFile>>(`/api/v1/files${query({ limit: PAGE_SIZE, cursor: paging.cursor, q })}`, { signal }), [paging.cursor, q])

  // Search as one types, after a pause, from the first page.
  useEffect(() => {
    const timer = setTimeout(() => { setQ(search.trim()); paging.reset() }, 300)
    return () => clearTimeout(timer)
  }, [search])

  const remove = async (file: AudioFile) => {
    if (!window.confirm(`Delete ${file.name}? Its jobs keep their results.`)) return
    try {
      await api(`/api/v1/files/${file.id}`, { method: 'DELETE' })
      setNotice(`${file.name} was deleted.`)
      files.reload()
    } catch (error) {
      setNotice(errorText(error))
    }
  }

  return (
    <>
      <PageTitle>Files</PageTitle>
      {canWrite && <UploadZone onUploaded={files.reload} />}
      <section className="card" aria-labelledby="files-title">
        <div className="section-head">
          <h2 id="files-title">Your files</h2>
          <div className="search">
            <label htmlFor="file-search">Search by name</label>
            <input id="file-search" type="search" maxLength={100} value={search} onChange={(e) => setSearch(e.target.value)} />
          </div>
        </div>
        {notice && <Alert kind="info">{notice}</Alert>}
        <ErrorAlert error={files.error} />
        {files.data && files.data.items.length === 0 && <Empty>{q ? `No file name contains “${q}”.` : 'No files yet. Upload one above.'}</Empty>}
        {files.data && files.data.items.length > 0 && (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Your files, newest first</caption>
              <thead>
                <tr><th scope="col">Name</th><th scope="col">Length</th><th scope="col">Format</th><th scope="col">Size</th><th scope="col">Uploaded</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr>
              </thead>
              <tbody>
                {files.data.items.map((file) => (
                  <tr key={file.id}>
                    <td data-label="Name"><Link to={`/files/${file.id}`}>{file.name}</Link></td>
                    <td data-label="Length">{formatDuration(file.durationSec)}</td>
                    <td data-label="Format">{file.format.toUpperCase()} · {file.sampleRate / 1000} kHz · {file.channels === 1 ? 'mono' : `${file.channels} ch`}</td>
                    <td data-label="Size">{formatBytes(file.size)}</td>
                    <td data-label="Uploaded">{formatDate(file.createdAt)}</td>
                    <td className="actions">{canWrite && <button type="button" className="button link danger" onClick={() => { void remove(file) }} aria-label={`Delete ${file.name}`}>Delete</button>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager label="Files" page={paging.page} hasNext={Boolean(files.data?.nextCursor)} onNext={() => files.data?.nextCursor && paging.next(files.data.nextCursor)} onPrevious={paging.previous} />
      </section>
    </>
  )
}
