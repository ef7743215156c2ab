import { useState, type FormEvent } from 'react'
import { errorText } from '../api.ts'
import { useSession } from '../session.tsx'
import { Alert } from '../ui.tsx'

export function SignIn ({ notice }: { notice?: string }) {
  const { signIn } = useSession()
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await signIn(email, password)
    } catch (reason) {
      setError(errorText(reason))
      setBusy(false)
    }
  }

  return (
    <main id="main" className="auth-page">
      <form className="card auth-card" onSubmit={(e) => { void submit(e) }} aria-labelledby="sign-in-title">
        <div className="brand brand-large" aria-hidden="true"><span className="brand-mark" />Tympan</div>
        <h1 id="sign-in-title">Sign in</h1>
        {notice && !error && <Alert kind="info">{notice}</Alert>}
        {error && <Alert kind="error">{error}</Alert>}
        <label htmlFor="email">Email</label>
        <input id="email" type="email" autoComplete="username" required maxLength={320} value={email} onChange={(e) => setEmail(e.target.value)} />
        <label htmlFor="password">Password</label>
        <input id="password" type="password" autoComplete="current-password" required maxLength={1024} value={password} onChange={(e) => setPassword(e.target.value)} />
        <button type="submit" className="button primary wide" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  )
}
