// The one way the app talks to the server: same-origin fetch with the session cookies, the
// CSRF header on every state-changing call, one silent refresh when the access token has
// expired, and RFC 9457 problems turned into errors that carry the server's own words.
// No token is ever stored by the app: the session lives in HttpOnly cookies, and the CSRF
// token is read from its (readable by design) cookie when it is needed.

export interface Problem {
  type?: string
  title?: string
  status: number
  detail: string
  code?: string
  field?: string
  requestId?: string
}

export class ApiError extends Error {
  readonly status: number
  readonly problem: Problem
  constructor (problem: Problem) {
    super(problem.detail)
    this.name = 'ApiError'
    this.status = problem.status
    this.problem = problem
  }
}

export type SessionSignal = 'expired' | 'password-change-required'

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const CSRF_COOKIES = ['__Host-tympan_csrf', 'tympan_csrf']
let csrfFromLogin: string | undefined
const listeners = new Set<(signal: SessionSignal) => void>()

export function onSessionSignal (listener: (signal: SessionSignal) => void): () => void {
  listeners.add(listener)
  return () => { listeners.delete(listener) }
}
const emit = (signal: SessionSignal) => { for (const listener of listeners) listener(signal) }

/** The double-submit token: the cookie the server set (current after every refresh). */
export function csrfToken (): string | undefined {
  const cookies = new Map(document.cookie.split(';').map((part) => {
    const at = part.indexOf('=')
    return [part.slice(0, at).trim(), decodeURIComponent(part.slice(at + 1).trim())] as const
  }))
  for (const name of CSRF_COOKIES) {
    const value = cookies.get(name)
    if (value) return value
  }
  return csrfFromLogin
}

export function rememberCsrf (token: string | undefined) { csrfFromLogin = token }

export async function problemOf (response: Response): Promise<Problem> {
  const text = await response.text().catch(() => '')
  try {
    const body = JSON.parse(text) as Partial<Problem> & { error?: { message?: string } }
    const detail = body.detail ?? body.error?.message ?? body.title
    if (detail) return { ...body, status: response.status, detail }
  } catch { /* not JSON: a proxy's page; described below */ }
  return { status: response.status, detail: describeStatus(response.status) }
}

function describeStatus (status: number): string {
  if (status === 413) return 'The file is larger than the server accepts.'
  if (status === 429) return 'Too many requests; wait a moment and try again.'
  if (status >= 500) return `The server failed (${status}); try again later.`
  return `The request was refused (${status}).`
}

let refreshing: Promise<boolean> | undefined

/** One refresh at a time: parallel requests that all met a 401 wait for the same one. */
export function refreshSession (): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const response = await fetch('/api/v1/auth/refresh', { method: 'POST', credentials: 'same-origin', headers: withCsrf('POST', {}) })
      if (!response.ok) return false
      const body = await response.json() as { csrfToken?: string }
      rememberCsrf(body.csrfToken)
      return true
    } catch {
      return false
    } finally {
      refreshing = undefined
    }
  })()
  return refreshing
}

function withCsrf (method: string, headers: Record<string, string>): Record<string, string> {
  const token = UNSAFE.has(method) ? csrfToken() : undefined
  return token ? { ...headers, 'x-csrf-token': token } : headers
}

export interface RequestOptions {
  method?: string
  body?: unknown
  /** Sign-in and refresh answer 401 for wrong credentials: no refresh attempt for those. */
  noRefresh?: boolean
  signal?: AbortSignal
}

/** A fetch with the session: refreshes once on 401, then reports the session as ended. */
export async function send (path: string, options: RequestOptions = {}): Promise<Response> {
  const method = options.method ?? 'GET'
  const attempt = () => fetch(path, {
    method,
    credentials: 'same-origin',
    headers: withCsrf(method, options.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' }),
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.signal ? { signal: options.signal } : {})
  })
  let response = await attempt()
  if (response.status === 401 && !options.noRefresh) {
    if (await refreshSession()) response = await attempt()
    if (response.status === 401) emit('expired')
  }
  if (response.status === 403) {
    const problem = await problemOf(response.clone())
    if (problem.code === 'password_change_required') emit('password-change-required')
  }
  return response
}

export async function api<T> (path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options)
  if (!response.ok) throw new ApiError(await problemOf(response))
  if (response.status === 204) return undefined as T
  return await response.json() as T
}

export const errorText = (error: unknown): string =>
  error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error)

/** The query string of a page request, without the empty values. */
export function query (params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => [k, String(v)])
  return entries.length ? `?${new URLSearchParams(entries).toString()}` : ''
}
