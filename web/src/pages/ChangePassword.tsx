import { useState, type FormEvent } from 'react'
import { api, errorText } from '../api.ts'
import { useSession } from '../session.tsx'
import { Alert } from '../ui.tsx'

/**
 * Changing the password: forced for a one-time password (the server refuses everything else
 * until then), and offered on the account page otherwise.
 */
export function ChangePasswordForm ({ forced, onDone }: { forced: boolean, onDone?: () => void }) {
  const { reload, signOut } = useSession()
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [repeat, setRepeat] = useState('')
  const [error, setError] = useState<string>()
  const [done, setDone] = useState<string>()
  const [busy, setBusy] = useState(false)

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    setDone(undefined)
    if (next !== repeat) { setError('The two new passwords differ.'); return }
    setBusy(true)
    try {
      const reply = await api<{ revokedSessions: number }>('/api/v1/me/password', { method: 'POST', body: { currentPassword: current, newPassword: next } })
      setCurrent(''); setNext(''); setRepeat('')
      setDone(reply.revokedSessions > 0 ? `Password changed; ${reply.revokedSessions} other session(s) were signed out.` : 'Password changed.')
      await reload()
      onDone?.()
    } catch (reason) {
      setError(errorText(reason))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form className="stack" onSubmit={(e) => { void submit(e) }} aria-labelledby="password-title">
      {forced ? <h1 id="password-title">Choose your own password</h1> : <h2 id="password-title">Change password</h2>}
      {forced && <p>Your password was set by an administrator and works only once. Pick a new one to continue.</p>}
      {error && <Alert kind="error">{error}</Alert>}
      {done && <Alert kind="success">{done}</Alert>}
      <label htmlFor="current-password">Current password</label>
      <input id="current-password" type="password" autoComplete="current-password" required maxLength={1024} value={current} onChange={(e) => setCurrent(e.target.value)} />
      <label htmlFor="new-password">New password</label>
      <input id="new-password" type="password" autoComplete="new-password" required maxLength={1024} value={next} onChange={(e) => setNext(e.target.value)} aria-describedby="new-password-hint" />
      <p id="new-password-hint" className="hint">A long passphrase of several words is strongest; the server refuses weak ones and says why.</p>
      <label htmlFor="repeat-password">New password again</label>
      <input id="repeat-password" type="password" autoComplete="new-password" required maxLength={1024} value={repeat} onChange={(e) => setRepeat(e.target.value)} />
      <div className="row">
        <button type="submit" className="button primary" disabled={busy}>{busy ? 'Saving…' : 'Change password'}</button>
        {forced && <button type="button" className="button secondary" onClick={() => { void signOut() }}>Sign out</button>}
      </div>
    </form>
  )
}

export function ForcedPasswordChange () {
  return (
    <main id="main" className="auth-page">
      <div className="card auth-card">
        <div className="brand brand-large" aria-hidden="true"><span className="brand-mark" />Tympan</div>
        <ChangePasswordForm forced />
      </div>
    </main>
  )
}
