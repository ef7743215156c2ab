import { useEffect, useRef } from 'react'
import { AccountPage } from './pages/Account.tsx'
import { AdminPage } from './pages/Admin.tsx'
import { ForcedPasswordChange } from './pages/ChangePassword.tsx'
import { FileDetailPage } from './pages/FileDetail.tsx'
import { FilesPage } from './pages/Files.tsx'
import { JobDetailPage } from './pages/JobDetail.tsx'
import { JobsPage } from './pages/Jobs.tsx'
import { SignIn } from './pages/SignIn.tsx'
import { MusicPage } from './pages/Music.tsx'
import { SpeakPage } from './pages/Speak.tsx'
import { TranslatePage } from './pages/Translate.tsx'
import { useJobTypes } from './job-types.ts'
import { Link, match, useLocation } from './router.tsx'
import { useSession } from './session.tsx'
import { PageTitle } from './ui.tsx'

export function App () {
  const { state } = useSession()
  if (state.status === 'loading') return <main id="main" className="auth-page"><p aria-live="polite">Loading…</p></main>
  if (state.status === 'signed-out') return <SignIn notice={state.notice} />
  if (state.me.user.mustChangePassword) return <ForcedPasswordChange />
  return <Shell />
}

function Page ({ path }: { path: string }) {
  if (path === '/' || path === '/files') return <FilesPage />
  let params = match('/files/:id', path)
  if (params) return <FileDetailPage id={params.id!} />
  if (path === '/jobs') return <JobsPage />
  params = match('/jobs/:id', path)
  if (params) return <JobDetailPage id={params.id!} />
  if (path === '/translate') return <TranslatePage />
  if (path === '/speak') return <SpeakPage />
  if (path === '/music') return <MusicPage />
  if (path === '/account') return <AccountPage />
  if (path === '/admin' || path.startsWith('/admin/')) return <AdminPage path={path} />
  return (
    <>
      <PageTitle>Page not found</PageTitle>
      <p>There is no page at this address. <Link to="/files">Go to your files</Link>.</p>
    </>
  )
}

// Each entry shows only to a caller whose scopes allow its page, and a capability's page
// only when the server has its job type.
const NAV: Array<{ to: string, label: string, scope?: string, jobType?: string }> = [
  { to: '/files', label: 'Files', scope: 'files:read' },
  { to: '/jobs', label: 'Jobs', scope: 'jobs:read' },
  { to: '/translate', label: 'Translate', scope: 'translate' },
  { to: '/speak', label: 'Speak', scope: 'jobs:write', jobType: 'speak' },
  { to: '/music', label: 'Music', scope: 'jobs:write', jobType: 'generate' },
  { to: '/account', label: 'Account' },
  { to: '/admin', label: 'Admin', scope: 'admin' }
]

function Shell () {
  const { state, signOut } = useSession()
  const { path } = useLocation()
  const main = useRef<HTMLElement>(null)
  const me = state.status === 'signed-in' ? state.me : undefined
  const types = useJobTypes()
  const nav = NAV.filter((item) => (!item.scope || me?.scopes.includes(item.scope)) && (!item.jobType || types?.some((t) => t.name === item.jobType)))

  // After a client-side navigation, focus moves to the new page's heading (as a page load would).
  const first = useRef(true)
  useEffect(() => {
    if (first.current) { first.current = false; return }
    main.current?.querySelector<HTMLElement>('h1')?.focus()
  }, [path])

  return (
    <>
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar">
        <Link to="/files" className="brand"><span className="brand-mark" aria-hidden="true" />Tympan</Link>
        <nav aria-label="Main">
          <ul>
            {nav.map((item) => {
              const on = path === item.to || path.startsWith(`${item.to}/`) || (path === '/' && item.to === '/files')
              return <li key={item.to}><Link to={item.to} className={on ? 'nav-on' : undefined} aria-current={on ? 'page' : undefined}>{item.label}</Link></li>
            })}
          </ul>
        </nav>
        <div className="who">
          <span className="who-email" title={me?.user.email}>{me?.user.email}</span>
          <button type="button" className="button secondary" onClick={() => { void signOut() }}>Sign out</button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page path={path} />
      </main>
    </>
  )
}
