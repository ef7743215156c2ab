import { useRef, useState, type FormEvent } from 'react'
import { api, errorText } from '../api.ts'
import { useMe, useSession } from '../session.tsx'
import type { ApiKey, SessionItem } from '../types.ts'
import { Alert, Empty, ErrorAlert, formatDate, PageTitle, useLoad } from '../ui.tsx'
import { ChangePasswordForm } from './ChangePassword.tsx'

export function AccountPage () {
  const me = useMe()
  return (
    <>
      <PageTitle>Account</PageTitle>
      <section className="card" aria-labelledby="profile-title">
        <h2 id="profile-title">Profile</h2>
        <dl className="facts">
          <div><dt>Email</dt><dd>{me.user.email}</dd></div>
          <div><dt>Role</dt><dd>{me.user.role}</dd></div>
          <div><dt>Tier</dt><dd>{me.user.tier}</dd></div>
          <div><dt>Member since</dt><dd>{formatDate(me.user.createdAt)}</dd></div>
        </dl>
      </section>
      <ApiKeys />
      <Sessions />
      <section className="card"><ChangePasswordForm forced={false} /></section>
      <YourData />
    </>
  )
}

function ApiKeys () {
  const me = useMe()
  const keys = useLoad((signal) => api<{ items: ApiKey[] }>('/api/v1/keys', { signal }), [])
  const [name, setName] = useState('')
  const [scopes, setScopes] = useState<string[]>(() => me.scopes.filter((s) => s !== 'admin'))
  const [expires, setExpires] = useState('')
  const [secret, setSecret] = useState<{ name: string, key: string }>()
  const [error, setError] = useState<string>()
  const [notice, setNotice] = useState<string>()

  const create = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined); setNotice(undefined)
    try {
      const created = await api<ApiKey & { key: string }>('/api/v1/keys', { method: 'POST', body: { name: name.trim(), scopes, ...(expires ? { expiresAt: new Date(`${expires}T23:59:59`).toISOString() } : {}) } })
      setSecret({ name: created.name, key: created.key })
      setName(''); setExpires('')
      keys.reload()
    } catch (reason) {
      setError(errorText(reason))
    }
  }

  const rotate = async (key: ApiKey) => {
    if (!window.confirm(`Rotate “${key.name}”? The current secret stops working at once.`)) return
    try {
      const rotated = await api<ApiKey & { key: string }>(`/api/v1/keys/${key.id}/rotate`, { method: 'POST' })
      setSecret({ name: rotated.name, key: rotated.key })
      keys.reload()
    } catch (reason) { setError(errorText(reason)) }
  }

  const revoke = async (key: ApiKey) => {
    if (!window.confirm(`Revoke “${key.name}”? Programs using it lose access at once.`)) return
    try {
      await api(`/api/v1/keys/${key.id}`, { method: 'DELETE' })
      setNotice(`The key “${key.name}” was revoked.`)
      if (secret?.name === key.name) setSecret(undefined)
      keys.reload()
    } catch (reason) { setError(errorText(reason)) }
  }

  const active = keys.data?.items.filter((k) => !k.revokedAt) ?? []
  const revoked = keys.data?.items.filter((k) => k.revokedAt) ?? []

  return (
    <section className="card" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <p className="muted">For programs and scripts: send the key in the <code>X-API-Key</code> header. A key can do no more than your role allows.</p>
      {secret && <NewSecret name={secret.name} secret={secret.key} onDismiss={() => setSecret(undefined)} />}
      {error && <Alert kind="error">{error}</Alert>}
      {notice && <Alert kind="success">{notice}</Alert>}
      <form className="stack key-form" onSubmit={(e) => { void create(e) }} aria-label="Create an API key">
        <div className="field">
          <label htmlFor="key-name">Name</label>
          <input id="key-name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. laptop script" />
        </div>
        <fieldset className="field">
          <legend>Permissions</legend>
          <div className="checks">
            {me.scopes.map((scope) => (
              <label key={scope} className="inline-check">
                <input type="checkbox" checked={scopes.includes(scope)} onChange={(e) => setScopes((s) => e.target.checked ? [...s, scope] : s.filter((x) => x !== scope))} /> {scope}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="field">
          <label htmlFor="key-expires">Expires on (optional)</label>
          <input id="key-expires" type="date" value={expires} min={new Date().toISOString().slice(0, 10)} onChange={(e) => setExpires(e.target.value)} />
        </div>
        <div className="row"><button type="submit" className="button primary" disabled={scopes.length === 0}>Create key</button></div>
      </form>
      <ErrorAlert error={keys.error} />
      {keys.data && active.length === 0 && <Empty>You have no active keys.</Empty>}
      {active.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Your active API keys</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Permissions</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {active.map((key) => (
                <tr key={key.id}>
                  <td data-label="Name">{key.name}</td>
                  <td data-label="Key" className="mono">{key.prefix}…</td>
                  <td data-label="Permissions">{key.scopes.join(', ')}</td>
                  <td data-label="Last used">{key.lastUsedAt ? formatDate(key.lastUsedAt) : 'never'}</td>
                  <td data-label="Expires">{key.expiresAt ? formatDate(key.expiresAt) : 'never'}</td>
                  <td className="actions">
                    <button type="button" className="button link" onClick={() => { void rotate(key) }}>Rotate<span className="visually-hidden"> {key.name}</span></button>
                    <button type="button" className="button link danger" onClick={() => { void revoke(key) }}>Revoke<span className="visually-hidden"> {key.name}</span></button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {revoked.length > 0 && (
        <details>
          <summary>{revoked.length} revoked key(s)</summary>
          <ul className="plain">{revoked.map((k) => <li key={k.id}>{k.name} <span className="mono">{k.prefix}…</span>, revoked {formatDate(k.revokedAt)}</li>)}</ul>
        </details>
      )}
    </section>
  )
}

function NewSecret ({ name, secret, onDismiss }: { name: string, secret: string, onDismiss: () => void }) {
  const [copied, setCopied] = useState(false)
  const field = useRef<HTMLInputElement>(null)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret)
      setCopied(true)
    } catch {
      // No clipboard access (permissions): select it for a manual copy.
      field.current?.select()
    }
  }
  return (
    <div className="secret" role="status">
      <p><strong>New key “{name}”.</strong> Copy it now: it is shown this once and never again.</p>
      <div className="row">
        <label htmlFor="new-secret" className="visually-hidden">The new API key</label>
        <input id="new-secret" ref={field} className="mono secret-value" readOnly value={secret} onFocus={(e) => e.target.select()} />
        <button type="button" className="button primary" onClick={() => { void copy() }}>{copied ? 'Copied' : 'Copy'}</button>
        <button type="button" className="button secondary" onClick={onDismiss}>I have saved it</button>
      </div>
    </div>
  )
}

function describeAgent (agent: string): string {
  const browser = /(Firefox|Edg|Chrome|Safari|curl|node)\/[\d.]+/.exec(agent)?.[0]
  const os = /(Windows|Mac OS X|Android|iPhone|Linux)/.exec(agent)?.[0]
  return [browser?.replace('Edg/', 'Edge/'), os].filter(Boolean).join(' on ') || agent || 'Unknown device'
}

function Sessions () {
  const sessions = useLoad((signal) => api<{ items: SessionItem[] }>('/api/v1/auth/sessions', { signal }), [])
  const { signOut } = useSession()
  const [error, setError] = useState<string>()
  const revoke = async (session: SessionItem) => {
    try {
      await api(`/api/v1/auth/sessions/${session.id}`, { method: 'DELETE' })
      if (session.current) await signOut()
      else sessions.reload()
    } catch (reason) { setError(errorText(reason)) }
  }
  return (
    <section className="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Signed-in devices</h2>
      {error && <Alert kind="error">{error}</Alert>}
      <ErrorAlert error={sessions.error} />
      {sessions.data && (
        <ul className="sessions">
          {sessions.data.items.map((s) => (
            <li key={s.id} className="session">
              <div>
                <strong>{describeAgent(s.userAgent)}</strong>{s.current && <span className="badge badge-current">this device</span>}
                <div className="muted">{s.ip} · signed in {formatDate(s.createdAt)} · last active {formatDate(s.lastActiveAt)}</div>
              </div>
              <button type="button" className="button secondary" onClick={() => { void revoke(s) }}>{s.current ? 'Sign out here' : 'Sign out'}<span className="visually-hidden"> the session of {describeAgent(s.userAgent)} from {s.ip}</span></button>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

function YourData () {
  const { signOut } = useSession()
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string>()
  const erase = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    if (!window.confirm('Erase your account and every file, job and key? This cannot be undone.')) return
    try {
      await api('/api/v1/me/data', { method: 'DELETE', body: { password } })
      await signOut('Your account and all its data were erased.', { alreadyEnded: true })
    } catch (reason) { setError(errorText(reason)) }
  }
  return (
    <section className="card" aria-labelledby="data-title">
      <h2 id="data-title">Your data</h2>
      <p>Download everything Tympan stores about you, as JSON.</p>
      <p><a className="button secondary" href="/api/v1/me/export" download="tympan-export.json">Download my data</a></p>
      <form className="stack danger-zone" onSubmit={(e) => { void erase(e) }} aria-labelledby="erase-title">
        <h3 id="erase-title">Erase my account</h3>
        <p>Deletes your account, files, jobs, results and keys for good.</p>
        {error && <Alert kind="error">{error}</Alert>}
        <label htmlFor="erase-password">Your current password</label>
        <input id="erase-password" type="password" autoComplete="current-password" required maxLength={1024} value={password} onChange={(e) => setPassword(e.target.value)} />
        <div className="row"><button type="submit" className="button danger">Erase my account</button></div>
      </form>
    </section>
  )
}
