import { useMemo, useState, type FormEvent } from 'react'
import { api, ApiError, errorText } from '../api.ts'
import { languageName } from '../languages.ts'
import { routesFrom, sourcesOf, TargetOptions, useLanguages, type Route } from '../components/Pickers.tsx'
import { Alert, ErrorAlert, PageTitle } from '../ui.tsx'

// Text translation (POST /api/v1/translate). The pickers come from the server's installed
// pairs and routes, so a pair added on the server shows up here; a route through pivot
// languages says so, since each extra step costs quality. The server checks everything
// again, and its 422 (text, codes, route) is shown as it words it.

interface Translation { translation: string, source_lang: string, target_lang: string, engine: string, route: string[] }

/** The server's limit, counted as it counts: Unicode code points of the trimmed text. */
const MAX_TEXT_CHARS = 5000
const characters = (text: string) => [...text.trim()].length


export function TranslatePage () {
  const languages = useLanguages()
  const routes = languages.data?.routes ?? []
  const sources = useMemo(() => sourcesOf(routes), [routes])
  const [from, setFrom] = useState('')
  const [to, setTo] = useState('')
  const [text, setText] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const [badField, setBadField] = useState<string>()
  const [result, setResult] = useState<{ source: string, answer: Translation }>()

  const source = from || (sources.includes('en') ? 'en' : sources[0] ?? '')
  const targets = routesFrom(routes, source)
  const target = targets.some((r) => r.to === to) ? to : targets.find((r) => r.to === 'es')?.to ?? targets[0]?.to ?? ''
  const route = targets.find((r) => r.to === target)
  const count = characters(text)
  const over = count > MAX_TEXT_CHARS

  const swap = () => {
    if (!result) return
    setFrom(result.answer.target_lang)
    setTo(result.answer.source_lang)
    setText(result.answer.translation)
    setResult(undefined)
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    setBadField(undefined)
    setBusy(true)
    try {
      const answer = await api<Translation>('/api/v1/translate', { method: 'POST', body: { source_lang: source, target_lang: target, text } })
      setResult({ source: text.trim(), answer })
    } catch (reason) {
      setError(errorText(reason))
      if (reason instanceof ApiError && reason.problem.field) setBadField(reason.problem.field.replace(/^body\./, ''))
    } finally {
      setBusy(false)
    }
  }

  return (
    <>
      <PageTitle>Translate text</PageTitle>
      <ErrorAlert error={languages.error} />
      {languages.data && routes.length === 0 && <Alert kind="info">No language pair is installed on this server.</Alert>}
      {routes.length > 0 && (
        <section className="card" aria-labelledby="translate-form-title">
          <h2 id="translate-form-title" className="visually-hidden">Text to translate</h2>
          <form className="translate-form" onSubmit={(e) => { void submit(e) }}>
            {error && <Alert kind="error">{error}</Alert>}
            <div className="translate-langs">
              <div className="field">
                <label htmlFor="tr-from">From</label>
                <select id="tr-from" value={source} aria-invalid={badField === 'source_lang' || undefined} onChange={(e) => { setFrom(e.target.value); setResult(undefined) }}>
                  {sources.map((code) => <option key={code} value={code}>{languageName(code)} ({code})</option>)}
                </select>
              </div>
              <div className="field">
                <label htmlFor="tr-to">To</label>
                <select id="tr-to" value={target} aria-invalid={badField === 'target_lang' || undefined} aria-describedby="tr-route" onChange={(e) => { setTo(e.target.value); setResult(undefined) }}>
                  <TargetOptions routes={targets} />
                </select>
              </div>
            </div>
            <p id="tr-route" className="hint">{route && <RouteText route={route} />}</p>
            <div className="field">
              <label htmlFor="tr-text">Text</label>
              <textarea id="tr-text" rows={6} required value={text} aria-invalid={badField === 'text' || over || undefined} aria-describedby="tr-count" onChange={(e) => setText(e.target.value)} />
              <p id="tr-count" className={`hint counter${over ? ' counter-over' : ''}`}>
                {count.toLocaleString('en')} / {MAX_TEXT_CHARS.toLocaleString('en')} characters{over ? ` — ${(count - MAX_TEXT_CHARS).toLocaleString('en')} over the limit` : ''}
              </p>
            </div>
            <div className="row">
              <button type="submit" className="button primary" disabled={busy || !target}>{busy ? 'Translating…' : 'Translate'}</button>
            </div>
          </form>
        </section>
      )}
      {result && (
        <section className="card" aria-labelledby="translation-title">
          <div className="section-head">
            <h2 id="translation-title">Translation</h2>
            <button type="button" className="button secondary" onClick={swap}>Translate back</button>
          </div>
          <div className="side-by-side">
            <article className="translation-pane" lang={result.answer.source_lang}>
              <h3 lang="en">{languageName(result.answer.source_lang)} <span className="muted">(source)</span></h3>
              <p className="translation-text">{result.source}</p>
            </article>
            <article className="translation-pane" lang={result.answer.target_lang}>
              <h3 lang="en">{languageName(result.answer.target_lang)} <span className="muted">(translation)</span></h3>
              <p className="translation-text" data-testid="translation">{result.answer.translation}</p>
            </article>
          </div>
          <p className="muted">
            By {result.answer.engine}, route {result.answer.route.map(languageName).join(' → ')}
            {result.answer.route.length > 2 ? ': through a pivot language, so expect rougher wording than a direct pair gives.' : ' (a direct pair).'}
          </p>
        </section>
      )}
      {languages.data && languages.data.pairs.length > 0 && (
        <details className="card">
          <summary>Installed language pairs ({languages.data.pairs.length})</summary>
          <ul className="pair-list">
            {languages.data.pairs.map((p) => <li key={p.mode}>{languageName(p.from)} → {languageName(p.to)} <span className="muted mono">{p.mode}</span></li>)}
          </ul>
          <p className="hint">Other combinations go through one or more of these pairs.</p>
        </details>
      )}
    </>
  )
}

function RouteText ({ route }: { route: Route }) {
  if (route.via.length === 0) return <>A direct pair: {languageName(route.from)} → {languageName(route.to)}.</>
  return <>No direct pair: the text goes {[route.from, ...route.via, route.to].map(languageName).join(' → ')}, and each step adds its errors.</>
}
