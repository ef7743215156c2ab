import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react'
import { api, ApiError, csrfToken, onSessionSignal, rememberCsrf, send } from './api.ts'
import type { Me, User } from './types.ts'

export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-out', notice?: string }
  | { status: 'signed-in', me: Me }

interface SessionApi {
  state: SessionState
  signIn: (email: string, password: string) => Promise<void>
  /**
   * Ends the session; `notice` replaces the sign-in page's "You are signed out.";
   * `alreadyEnded`: the server has ended it and cleared the cookies (account erasure).
   */
  signOut: (notice?: string, options?: { alreadyEnded?: boolean }) => Promise<void>
  /** Re-reads who is signed in (after a password change, a role change). */
  reload: () => Promise<void>
}

const SessionContext = createContext<SessionApi | undefined>(undefined)

export const EXPIRED_NOTICE = 'Your session has ended. Sign in again to continue.'

async function whoAmI (): Promise<Me | undefined> {
  // The readable CSRF cookie lives as long as the session: without it there is none to ask about.
  if (!csrfToken()) return undefined
  try {
    return await api<Me>('/api/v1/me')
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return undefined
    throw error
  }
}

export function SessionProvider ({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' })

  const reload = useCallback(async () => {
    try {
      const me = await whoAmI()
      setState(me ? { status: 'signed-in', me } : { status: 'signed-out' })
    } catch {
      setState({ status: 'signed-out', notice: 'The server could not be reached. Try again in a moment.' })
    }
  }, [])

  useEffect(() => { void reload() }, [reload])

  useEffect(() => onSessionSignal((signal) => {
    if (signal === 'expired') setState((s) => s.status === 'signed-in' ? { status: 'signed-out', notice: EXPIRED_NOTICE } : s)
    // The account's password became one-time (an admin reset it): show the change form.
    if (signal === 'password-change-required') {
      setState((s) => s.status === 'signed-in' && !s.me.user.mustChangePassword
        ? { status: 'signed-in', me: { ...s.me, user: { ...s.me.user, mustChangePassword: true } } }
        : s)
    }
  }), [])

  const signIn = useCallback(async (email: string, password: string) => {
    const reply = await api<{ user: User, csrfToken?: string }>('/api/v1/auth/login', { method: 'POST', body: { email, password }, noRefresh: true })
    rememberCsrf(reply.csrfToken)
    await reload()
  }, [reload])

  const signOut = useCallback(async (notice = 'You are signed out.', options: { alreadyEnded?: boolean } = {}) => {
    if (!options.alreadyEnded) await send('/api/v1/auth/logout', { method: 'POST', noRefresh: true }).catch(() => undefined)
    rememberCsrf(undefined)
    setState({ status: 'signed-out', notice })
  }, [])

  const value = useMemo(() => ({ state, signIn, signOut, reload }), [state, signIn, signOut, reload])
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>
}

export function useSession (): SessionApi {
  const session = useContext(SessionContext)
  if (!session) throw new Error('useSession outside SessionProvider')
  return session
}

/** The signed-in principal; only for pages rendered behind the sign-in gate. */
export function useMe (): Me {
  const { state } = useSession()
  if (state.status !== 'signed-in') throw new Error('useMe without a session')
  return state.me
}
