import { useState, type FormEvent } from 'react'
import { api, errorText, query } from '../api.ts'
import { Link } from '../router.tsx'
import { useMe } from '../session.tsx'
import type { AuditItem, EngineInfo, JobStatus, Page, Role, Tier, User } from '../types.ts'
import { Alert, Empty, ErrorAlert, formatDate, PageTitle, Pager, useCursor, useLoad } from '../ui.tsx'

const ROLES: Role[] = ['admin', 'member', 'viewer']
const TIERS: Tier[] = ['free', 'premium', 'enterprise']
const TABS = [
  { path: '/admin', label: 'Users' },
  { path: '/admin/audit', label: 'Audit log' },
  { path: '/admin/engines', label: 'Engines' },
  { path: '/admin/queue', label: 'Queue' }
]

export function AdminPage ({ path }: { path: string }) {
  const me = useMe()
  if (me.user.role !== 'admin') {
    return (
      <>
        <PageTitle>Administration</PageTitle>
        <Alert kind="error">These pages are for administrators. Your role is {me.user.role}; ask an administrator if you need access.</Alert>
      </>
    )
  }
  const tab = TABS.find((t) => t.path === path) ?? TABS[0]!
  return (
    <>
      <PageTitle>{`Administration: ${tab.label}`}</PageTitle>
      <nav className="tabs" aria-label="Administration">
        {TABS.map((t) => <Link key={t.path} to={t.path} className={`tab${t === tab ? ' tab-on' : ''}`} aria-current={t === tab ? 'page' : undefined}>{t.label}</Link>)}
      </nav>
      {tab.path === '/admin' && <Users />}
      {tab.path === '/admin/audit' && <AuditLog />}
      {tab.path === '/admin/engines' && <Engines />}
      {tab.path === '/admin/queue' && <Queue />}
    </>
  )
}

function Users () {
  const me = useMe()
  const [role, setRole] = useState('')
  const [tier, setTier] = useState('')
  const paging = useCursor()
  const users = useLoad((signal) => api<Page<User>>(`/api/v1/admin/users${query({ limit: 25, cursor: paging.cursor, role, tier })}`, { signal }), [paging.cursor, role, tier])
  const [notice, setNotice] = useState<{ kind: 'error' | 'success', text: string }>()

  const patch = async (user: User, change: Partial<Pick<User, 'role' | 'tier' | 'disabled'>>) => {
    setNotice(undefined)
    try {
      await api(`/api/v1/admin/users/${user.id}`, { method: 'PATCH', body: change })
      setNotice({ kind: 'success', text: `${user.email} was updated.` })
      users.reload()
    } catch (reason) { setNotice({ kind: 'error', text: errorText(reason) }) }
  }

  return (
    <>
      <CreateUser onCreated={users.reload} />
      <section className="card" aria-labelledby="users-title">
        <div className="section-head">
          <h2 id="users-title">Users</h2>
          <div className="filters">
            <div className="field">
              <label htmlFor="user-role">Role</label>
              <select id="user-role" value={role} onChange={(e) => { setRole(e.target.value); paging.reset() }}><option value="">Any</option>{ROLES.map((r) => <option key={r}>{r}</option>)}</select>
            </div>
            <div className="field">
              <label htmlFor="user-tier">Tier</label>
              <select id="user-tier" value={tier} onChange={(e) => { setTier(e.target.value); paging.reset() }}><option value="">Any</option>{TIERS.map((t) => <option key={t}>{t}</option>)}</select>
            </div>
          </div>
        </div>
        {notice && <Alert kind={notice.kind}>{notice.text}</Alert>}
        <ErrorAlert error={users.error} />
        {users.data && users.data.items.length === 0 && <Empty>No user matches.</Empty>}
        {users.data && users.data.items.length > 0 && (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Users</caption>
              <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Tier</th><th scope="col">State</th><th scope="col">Created</th></tr></thead>
              <tbody>
                {users.data.items.map((u) => (
                  <tr key={u.id}>
                    <td data-label="Email">{u.email}{u.id === me.user.id && <span className="badge badge-current">you</span>}</td>
                    <td data-label="Role">
                      <label className="visually-hidden" htmlFor={`role-${u.id}`}>Role of {u.email}</label>
                      <select id={`role-${u.id}`} value={u.role} disabled={u.id === me.user.id} onChange={(e) => { void patch(u, { role: e.target.value as Role }) }}>{ROLES.map((r) => <option key={r}>{r}</option>)}</select>
                    </td>
                    <td data-label="Tier">
                      <label className="visually-hidden" htmlFor={`tier-${u.id}`}>Tier of {u.email}</label>
                      <select id={`tier-${u.id}`} value={u.tier} onChange={(e) => { void patch(u, { tier: e.target.value as Tier }) }}>{TIERS.map((t) => <option key={t}>{t}</option>)}</select>
                    </td>
                    <td data-label="State">
                      <span className="state-text">{u.disabled ? 'disabled' : u.mustChangePassword ? 'one-time password' : 'active'}</span>{' '}
                      {u.id !== me.user.id && <button type="button" className={`button link${u.disabled ? '' : ' danger'}`} onClick={() => { void patch(u, { disabled: !u.disabled }) }}>{u.disabled ? 'Enable' : 'Disable'}<span className="visually-hidden"> {u.email}</span></button>}
                    </td>
                    <td data-label="Created">{formatDate(u.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager label="Users" page={paging.page} hasNext={Boolean(users.data?.nextCursor)} onNext={() => users.data?.nextCursor && paging.next(users.data.nextCursor)} onPrevious={paging.previous} />
      </section>
    </>
  )
}

function CreateUser ({ onCreated }: { onCreated: () => void }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [role, setRole] = useState<Role>('member')
  const [tier, setTier] = useState<Tier>('free')
  const [notice, setNotice] = useState<{ kind: 'error' | 'success', text: string }>()
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setNotice(undefined)
    try {
      const user = await api<User>('/api/v1/admin/users', { method: 'POST', body: { email: email.trim(), password, role, tier } })
      setNotice({ kind: 'success', text: `${user.email} was created. The password works once: they choose their own at first sign-in.` })
      setEmail(''); setPassword('')
      onCreated()
    } catch (reason) { setNotice({ kind: 'error', text: errorText(reason) }) }
  }
  return (
    <details className="card">
      <summary><h2 className="inline-heading">Add a user</h2></summary>
      <form className="grid-form" onSubmit={(e) => { void submit(e) }} aria-label="Add a user">
        {notice && <Alert kind={notice.kind}>{notice.text}</Alert>}
        <div className="field"><label htmlFor="new-email">Email</label><input id="new-email" type="email" required maxLength={254} value={email} onChange={(e) => setEmail(e.target.value)} /></div>
        <div className="field"><label htmlFor="new-user-password">One-time password</label><input id="new-user-password" type="password" autoComplete="new-password" required maxLength={1024} value={password} onChange={(e) => setPassword(e.target.value)} /></div>
        <div className="field"><label htmlFor="new-role">Role</label><select id="new-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>{ROLES.map((r) => <option key={r}>{r}</option>)}</select></div>
        <div className="field"><label htmlFor="new-tier">Tier</label><select id="new-tier" value={tier} onChange={(e) => setTier(e.target.value as Tier)}>{TIERS.map((t) => <option key={t}>{t}</option>)}</select></div>
        <div className="row"><button type="submit" className="button primary">Add user</button></div>
      </form>
    </details>
  )
}

const ACTION_PATTERN = /^[a-z_.]+(\.\*)?$/
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function AuditLog () {
  const [form, setForm] = useState({ action: '', actor: '', from: '', to: '' })
  const [filters, setFilters] = useState(form)
  const [trail, setTrail] = useState<number[]>([])
  const [invalid, setInvalid] = useState<string>()
  const cursor = trail.at(-1)
  const audit = useLoad((signal) => api<Page<AuditItem, number>>(`/api/v1/admin/audit${query({
    limit: 50,
    cursor,
    action: filters.action,
    actor: filters.actor,
    from: filters.from ? new Date(filters.from).toISOString() : undefined,
    to: filters.to ? new Date(filters.to).toISOString() : undefined
  })}`, { signal }), [cursor, filters])

  const apply = (event: FormEvent) => {
    event.preventDefault()
    const action = form.action.trim()
    const actor = form.actor.trim()
    if (action && !ACTION_PATTERN.test(action)) { setInvalid('An action is lower-case words with dots, like auth.login.failure, or a prefix like auth.*'); return }
    if (actor && !UUID_PATTERN.test(actor)) { setInvalid('The actor is a user id (a UUID).'); return }
    setInvalid(undefined)
    setTrail([])
    setFilters({ ...form, action, actor })
  }

  return (
    <section className="card" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <form className="grid-form" onSubmit={apply} aria-label="Filter the audit log">
        <div className="field"><label htmlFor="audit-action">Action</label><input id="audit-action" list="audit-actions" maxLength={100} placeholder="auth.* or auth.login.failure" value={form.action} onChange={(e) => setForm({ ...form, action: e.target.value })} /></div>
        <datalist id="audit-actions">
          {['auth.*', 'auth.login.failure', 'auth.login.success', 'auth.login.locked', 'authz.denied', 'key.*', 'file.*', 'job.*', 'admin.*', 'user.*'].map((a) => <option key={a} value={a} />)}
        </datalist>
        <div className="field"><label htmlFor="audit-actor">Actor (user id)</label><input id="audit-actor" maxLength={36} value={form.actor} onChange={(e) => setForm({ ...form, actor: e.target.value })} /></div>
        <div className="field"><label htmlFor="audit-from">From</label><input id="audit-from" type="datetime-local" value={form.from} onChange={(e) => setForm({ ...form, from: e.target.value })} /></div>
        <div className="field"><label htmlFor="audit-to">To</label><input id="audit-to" type="datetime-local" value={form.to} onChange={(e) => setForm({ ...form, to: e.target.value })} /></div>
        <div className="row"><button type="submit" className="button primary">Apply filters</button></div>
      </form>
      {invalid && <Alert kind="error">{invalid}</Alert>}
      <ErrorAlert error={audit.error} />
      {audit.data && audit.data.items.length === 0 && <Empty>No audit record matches.</Empty>}
      {audit.data && audit.data.items.length > 0 && (
        <div className="table-wrap">
          <table className="audit">
            <caption className="visually-hidden">Audit records, newest first</caption>
            <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Status</th><th scope="col">Who</th><th scope="col">Request</th><th scope="col">Detail</th></tr></thead>
            <tbody>
              {audit.data.items.map((item) => (
                <tr key={item.id}>
                  <td data-label="When">{formatDate(item.at)}</td>
                  <td data-label="Action" className="mono">{item.action}</td>
                  <td data-label="Status">{item.status ?? '–'}</td>
                  <td data-label="Who" className="mono">{item.actorUserId ? item.actorUserId.slice(0, 8) : item.actorKeyId ? `key ${item.actorKeyId}` : 'anonymous'}{item.ip ? ` · ${item.ip}` : ''}</td>
                  <td data-label="Request" className="mono">{item.method} {item.route}</td>
                  <td data-label="Detail" className="mono detail">{Object.entries(item.detail).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager label="Audit" page={trail.length + 1} hasNext={audit.data?.nextCursor !== null && audit.data?.nextCursor !== undefined} onNext={() => { const next = audit.data?.nextCursor; if (typeof next === 'number') setTrail((t) => [...t, next]) }} onPrevious={() => setTrail((t) => t.slice(0, -1))} />
    </section>
  )
}

function Engines () {
  const engines = useLoad((signal) => api<{ engines: EngineInfo[] }>('/api/v1/engines', { signal }), [])
  return (
    <section className="card" aria-labelledby="engines-title">
      <h2 id="engines-title">Engines</h2>
      <ErrorAlert error={engines.error} />
      {engines.data && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Installed engines</caption>
            <thead><tr><th scope="col">Engine</th><th scope="col">State</th><th scope="col">Version</th><th scope="col">Debian package</th><th scope="col">Languages and voices</th></tr></thead>
            <tbody>
              {engines.data.engines.map((e) => (
                <tr key={e.name}>
                  <td data-label="Engine">{e.name}</td>
                  <td data-label="State"><span className={`badge badge-${e.available ? 'succeeded' : 'failed'}`}>{e.available ? 'available' : 'missing'}</span>{e.detail && <div className="muted">{e.detail}</div>}</td>
                  <td data-label="Version">{e.version ?? '–'}</td>
                  <td data-label="Debian package" className="mono">{e.package}</td>
                  <td data-label="Languages and voices">{[...(e.languages ?? []), ...(e.voices ?? [])].join(', ') || '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

interface QueueOverview {
  types: Array<{ type: string, counts: Record<JobStatus, number>, oldestQueuedAt: string | null }>
}

const STATUS_ORDER: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled']
const capitalize = (word: string) => word.charAt(0).toUpperCase() + word.slice(1)

function waited (since: string | null): string {
  if (!since) return '–'
  const minutes = Math.max(0, (Date.now() - new Date(since).getTime()) / 60_000)
  return minutes < 1 ? 'under a minute' : minutes < 120 ? `${Math.round(minutes)} min` : `${Math.round(minutes / 60)} h`
}

function Queue () {
  const overview = useLoad((signal) => api<QueueOverview>('/api/v1/admin/jobs/overview', { signal }), [])
  return (
    <section className="card" aria-labelledby="queue-title">
      <div className="section-head">
        <h2 id="queue-title">Queue</h2>
        <button type="button" className="button secondary" onClick={overview.reload}>Refresh</button>
      </div>
      <p className="muted">Jobs of every user, by type. Finished jobs count until their retention ends.</p>
      <ErrorAlert error={overview.error} />
      {overview.data && overview.data.types.length === 0 && <Empty>No jobs at all yet.</Empty>}
      {overview.data && overview.data.types.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Jobs by type and status</caption>
            <thead><tr><th scope="col">Type</th>{STATUS_ORDER.map((s) => <th key={s} scope="col">{capitalize(s)}</th>)}<th scope="col">Oldest waiting</th></tr></thead>
            <tbody>
              {overview.data.types.map((t) => (
                <tr key={t.type}>
                  <td data-label="Type">{t.type}</td>
                  {STATUS_ORDER.map((s) => <td key={s} data-label={capitalize(s)}>{t.counts[s]}</td>)}
                  <td data-label="Oldest waiting">{waited(t.oldestQueuedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
