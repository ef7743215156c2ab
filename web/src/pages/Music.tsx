import { useState, type FormEvent } from 'react'
import { api, ApiError, errorText } from '../api.ts'
import { choices } from '../components/JobForm.tsx'
import { useJobTypes } from '../job-types.ts'
import { navigate } from '../router.tsx'
import type { Job, JobType } from '../types.ts'
import { Alert, PageTitle } from '../ui.tsx'

// Music generation: a `generate` job from a prompt, a length and an optional seed (the same
// prompt and seed give the same piece). Bounds come from the type's params schema; the job's
// page plays the piece and explains its composition.

const EXAMPLES = ['calm lo-fi piano at 80 bpm', 'upbeat funk with slap bass in E minor', 'sad waltz for strings', 'driving rock, drums and distorted guitar']

export function MusicPage () {
  const types = useJobTypes()
  const type = types?.find((t) => t.name === 'generate')
  return (
    <>
      <PageTitle>Music</PageTitle>
      {types && !type && <Alert kind="info">This server has no music generation.</Alert>}
      {type && <MusicForm type={type} />}
    </>
  )
}

function MusicForm ({ type }: { type: JobType }) {
  const props = type.params.properties ?? {}
  const maxPrompt = props.prompt?.maxLength ?? 500
  const minDuration = props.durationSec?.minimum ?? 1
  const maxDuration = props.durationSec?.maximum ?? 300
  const seedMax = props.seed?.maximum ?? 2 ** 31 - 1
  const formats = choices(props.format) ?? []

  const [prompt, setPrompt] = useState('')
  const [duration, setDuration] = useState(String(Math.min(maxDuration, Math.max(minDuration, 20))))
  const [seed, setSeed] = useState('')
  const [tempo, setTempo] = useState('')
  const [key, setKey] = useState('')
  const [format, setFormat] = useState(typeof props.format?.default === 'string' ? props.format.default : formats[0] ?? '')
  const [error, setError] = useState<string>()
  const [badField, setBadField] = useState<string>()
  const [busy, setBusy] = useState(false)

  const randomSeed = () => {
    const [value] = crypto.getRandomValues(new Uint32Array(1))
    setSeed(String(value! % (seedMax + 1)))
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    setBadField(undefined)
    setBusy(true)
    try {
      const params = {
        prompt,
        durationSec: Number(duration),
        ...(seed.trim() ? { seed: Number(seed) } : {}),
        ...(tempo.trim() ? { tempo: Number(tempo) } : {}),
        ...(key.trim() ? { key: key.trim() } : {}),
        ...(format ? { format } : {})
      }
      const job = await api<Job>('/api/v1/jobs', { method: 'POST', body: { type: 'generate', params } })
      navigate(`/jobs/${job.id}`)
    } catch (reason) {
      setError(errorText(reason))
      if (reason instanceof ApiError && reason.problem.field) setBadField(reason.problem.field.replace(/^(body\.)?params\./, ''))
      setBusy(false)
    }
  }
  const invalid = (name: string) => badField === name || undefined

  return (
    <section className="card" aria-labelledby="music-title">
      <h2 id="music-title">Compose a piece</h2>
      <form className="translate-form" onSubmit={(e) => { void submit(e) }}>
        {error && <Alert kind="error">{error}</Alert>}
        <div className="field">
          <label htmlFor="music-prompt">Describe it</label>
          <textarea id="music-prompt" rows={3} required maxLength={maxPrompt} value={prompt} aria-invalid={invalid('prompt')} aria-describedby="music-prompt-hint" onChange={(e) => setPrompt(e.target.value)} />
          <p id="music-prompt-hint" className="hint">Genre, mood, tempo, instruments and key in words, for example “{EXAMPLES[0]}”. {[...prompt].length} / {maxPrompt} characters.</p>
          <div className="row" role="group" aria-label="Example prompts">
            {EXAMPLES.map((example) => <button key={example} type="button" className="button chip" onClick={() => setPrompt(example)}>{example}</button>)}
          </div>
        </div>
        <div className="translate-langs">
          <div className="field">
            <label htmlFor="music-duration">Length in seconds</label>
            <input id="music-duration" type="number" inputMode="decimal" required min={minDuration} max={maxDuration} step="any" value={duration} aria-invalid={invalid('durationSec')} onChange={(e) => setDuration(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="music-seed">Seed</label>
            <div className="input-with-button">
              <input id="music-seed" type="number" inputMode="numeric" min={0} max={seedMax} step={1} value={seed} aria-invalid={invalid('seed')} aria-describedby="music-seed-hint" onChange={(e) => setSeed(e.target.value)} />
              <button type="button" className="button secondary" onClick={randomSeed}>New seed</button>
            </div>
            <p id="music-seed-hint" className="hint">Empty: one made from the words. The same prompt and seed give the same piece.</p>
          </div>
        </div>
        <details className="more-options">
          <summary>Tempo, key and format</summary>
          <div className="translate-langs">
            <div className="field">
              <label htmlFor="music-tempo">Tempo (BPM)</label>
              <input id="music-tempo" type="number" inputMode="decimal" min={props.tempo?.minimum} max={props.tempo?.maximum} step="any" value={tempo} aria-invalid={invalid('tempo')} placeholder="from the prompt" onChange={(e) => setTempo(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="music-key">Key</label>
              <input id="music-key" maxLength={props.key?.maxLength ?? 12} value={key} aria-invalid={invalid('key')} placeholder="A minor, F#m, Bb major" onChange={(e) => setKey(e.target.value)} />
            </div>
            {formats.length > 0 && (
              <div className="field">
                <label htmlFor="music-format">Format</label>
                <select id="music-format" value={format} onChange={(e) => setFormat(e.target.value)}>
                  {formats.map((f) => <option key={f} value={f}>{f.toUpperCase()}</option>)}
                </select>
              </div>
            )}
          </div>
        </details>
        <div className="row">
          <button type="submit" className="button primary" disabled={busy}>{busy ? 'Starting…' : 'Compose'}</button>
        </div>
      </form>
    </section>
  )
}
