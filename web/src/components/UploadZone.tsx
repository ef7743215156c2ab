import { useRef, useState, type DragEvent } from 'react'
import { Link } from '../router.tsx'
import { formatBytes } from '../ui.tsx'
import { RESUMABLE_FROM_BYTES, startUpload, type RunningUpload } from '../upload.ts'

const ACCEPT = '.mp3,.wav,.flac,.aac,.ogg,.m4a,.wma,audio/*'

interface Item {
  key: number
  name: string
  size: number
  progress: number
  state: 'uploading' | 'done' | 'refused'
  note?: string
  message?: string
  fileId?: string
  resumed?: boolean
  running?: RunningUpload
}

const RETRYING = 'Connection lost; retrying…'

let nextKey = 0

/** Drop zone and file picker; each file gets its own row with a progress bar and the server's verdict. */
export function UploadZone ({ onUploaded }: { onUploaded: () => void }) {
  const [items, setItems] = useState<Item[]>([])
  const [over, setOver] = useState(false)
  const input = useRef<HTMLInputElement>(null)

  const update = (key: number, change: Partial<Item>) => setItems((all) => all.map((i) => i.key === key ? { ...i, ...change } : i))

  const add = (files: FileList | File[]) => {
    for (const file of Array.from(files)) {
      const key = nextKey++
      const running = startUpload(file, {
        // Bytes moving again after a retry: the connection is back.
        onProgress: (fraction) => setItems((all) => all.map((i) => i.key === key ? { ...i, progress: fraction, note: i.note === RETRYING ? 'Reconnected' : i.note } : i)),
        onResume: () => update(key, { note: 'Resuming the earlier upload of this file', resumed: true }),
        onRetry: () => update(key, { note: RETRYING })
      })
      setItems((all) => [{ key, name: file.name, size: file.size, progress: 0, state: 'uploading', running, ...(file.size >= RESUMABLE_FROM_BYTES ? { note: 'Resumable upload' } : {}) }, ...all])
      running.done.then((stored) => {
        update(key, { state: 'done', progress: 1, fileId: stored.id, note: undefined, running: undefined })
        onUploaded()
      }, (error: unknown) => {
        update(key, { state: 'refused', message: error instanceof Error ? error.message : String(error), note: undefined, running: undefined })
      })
    }
  }

  const drop = (event: DragEvent) => {
    event.preventDefault()
    setOver(false)
    if (event.dataTransfer.files.length) add(event.dataTransfer.files)
  }

  return (
    <section className="card" aria-labelledby="upload-title">
      <h2 id="upload-title">Upload audio</h2>
      <div
        className={`dropzone${over ? ' dropzone-over' : ''}`}
        onDragOver={(e) => { e.preventDefault(); setOver(true) }}
        onDragLeave={() => setOver(false)}
        onDrop={drop}
      >
        <p>Drop audio files here, or</p>
        <button type="button" className="button primary" onClick={() => input.current?.click()}>Choose files…</button>
        <input ref={input} id="upload-input" className="visually-hidden" type="file" multiple accept={ACCEPT} aria-label="Choose audio files to upload" onChange={(e) => { if (e.target.files) add(e.target.files); e.target.value = '' }} />
        <p className="hint">MP3, WAV, FLAC, AAC, OGG, M4A or WMA. Files of {formatBytes(RESUMABLE_FROM_BYTES)} or more upload in resumable chunks.</p>
      </div>
      {items.length > 0 && (
        <ul className="upload-list" aria-label="Uploads">
          {items.map((item) => (
            <li key={item.key} className={`upload-item upload-${item.state}`}>
              <div className="upload-head">
                <span className="upload-name">{item.name}</span>
                <span className="muted">{formatBytes(item.size)}</span>
              </div>
              <progress max={1} value={item.progress} aria-label={`Upload of ${item.name}`} />
              <div className="upload-foot" aria-live="polite">
                {item.state === 'uploading' && <span>{Math.round(item.progress * 100)}% {item.note ? `· ${item.note}` : ''}</span>}
                {item.state === 'uploading' && <button type="button" className="button link" onClick={() => item.running?.abort()}>Cancel</button>}
                {item.state === 'done' && item.fileId && <span>{item.resumed ? 'Uploaded, resumed where the earlier attempt stopped' : 'Uploaded'} · <Link to={`/files/${item.fileId}`}>Open</Link></span>}
                {item.state === 'refused' && <span className="error-text" role="alert">Refused: {item.message}</span>}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
