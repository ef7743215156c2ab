import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react'
import { errorText } from './api.ts'

export function formatBytes (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

export function formatDuration (seconds: number): string {
  if (!Number.isFinite(seconds)) return '–'
  const s = Math.max(0, seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor(s / 60) % 60
  const sec = s % 60
  const secText = sec.toFixed(1).padStart(4, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${secText}` : `${m}:${secText}`
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
export const formatDate = (iso: string | null | undefined): string => iso ? dateFormat.format(new Date(iso)) : '–'

/** A message with a role the screen reader announces; the icon-free wording carries the meaning. */
export function Alert ({ kind, children }: { kind: 'error' | 'info' | 'success', children: ReactNode }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      <strong className="alert-label">{kind === 'error' ? 'Error: ' : kind === 'success' ? 'Done: ' : 'Note: '}</strong>
      {children}
    </div>
  )
}

export function ErrorAlert ({ error }: { error: unknown }) {
  return error ? <Alert kind="error">{errorText(error)}</Alert> : null
}

export interface Loaded<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  reload: () => void
}

/** Loads on mount and when `deps` change; `reload()` again on demand. Stale answers are dropped. */
export function useLoad<T> (load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>()
  const [error, setError] = useState<unknown>()
  const [loading, setLoading] = useState(true)
  const [tick, setTick] = useState(0)
  const loadRef = useRef(load)
  loadRef.current = load
  useEffect(() => {
    const controller = new AbortController()
    setLoading(true)
    loadRef.current(controller.signal).then((value) => {
      if (controller.signal.aborted) return
      setData(value)
      setError(undefined)
    }, (reason: unknown) => {
      if (!controller.signal.aborted) setError(reason)
    }).finally(() => { if (!controller.signal.aborted) setLoading(false) })
    return () => controller.abort()
  }, [...deps, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { data, error, loading, reload }
}

/** Keyset paging: the API hands out the next cursor; the way back is the cursors seen so far. */
export function useCursor () {
  const [trail, setTrail] = useState<string[]>([])
  const cursor = trail.at(-1)
  return {
    cursor,
    page: trail.length + 1,
    next: (nextCursor: string) => setTrail((t) => [...t, nextCursor]),
    previous: () => setTrail((t) => t.slice(0, -1)),
    reset: () => setTrail([])
  }
}

export function Pager ({ page, hasNext, onNext, onPrevious, label }: { page: number, hasNext: boolean, onNext: () => void, onPrevious: () => void, label: string }) {
  if (page === 1 && !hasNext) return null
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" className="button secondary" onClick={onPrevious} disabled={page === 1}>Previous</button>
      <span>Page {page}</span>
      <button type="button" className="button secondary" onClick={onNext} disabled={!hasNext}>Next</button>
    </nav>
  )
}

export function StatusBadge ({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>
}

export function PageTitle ({ children, actions }: { children: ReactNode, actions?: ReactNode }) {
  useEffect(() => {
    if (typeof children === 'string') document.title = `${children} · Tympan`
  }, [children])
  return (
    <div className="page-title">
      <h1 tabIndex={-1}>{children}</h1>
      {actions && <div className="page-actions">{actions}</div>}
    </div>
  )
}

export function Empty ({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>
}

export function downloadUrl (url: string) {
  const a = document.createElement('a')
  a.href = url
  a.download = ''
  document.body.append(a)
  a.click()
  a.remove()
}
