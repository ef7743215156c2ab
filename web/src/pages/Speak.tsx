import { useState, type FormEvent } from 'react'
import { api, ApiError, errorText } from '../api.ts'
import { choices } from '../components/JobForm.tsx'
import { useJobTypes } from '../job-types.ts'
import { navigate } from '../router.tsx'
import { useVoices, VoiceOptions } from '../components/Pickers.tsx'
import type { Job, JobType } from '../types.ts'
import { Alert, ErrorAlert, PageTitle } from '../ui.tsx'

// Speech synthesis: a `speak` job (the session has no API key for /v1/audio/speech, and a job
// survives a closed tab). Bounds and formats come from the type's params schema, the voices
// from GET /api/v1/engines; the job's page then plays the speech.

const characters = (text: string) => [...text].length

export function SpeakPage () {
  const types = useJobTypes()
  const type = types?.find((t) => t.name === 'speak')
  return (
    <>
      <PageTitle>Speak</PageTitle>
      {types && !type && <Alert kind="info">This server has no speech synthesis.</Alert>}
      {type && <SpeakForm type={type} />}
    </>
  )
}

function SpeakForm ({ type }: { type: JobType }) {
  const props = type.params.properties ?? {}
  const maxChars = props.text?.maxLength ?? 20_000
  const minSpeed = props.speed?.minimum ?? 0.25
  const maxSpeed = props.speed?.maximum ?? 4
  const formats = choices(props.format) ?? []
  const voices = useVoices()

  const [text, setText] = useState('')
  const [voice, setVoice] = useState('')
  const [speed, setSpeed] = useState(1)
  const [format, setFormat] = useState(formats.includes('mp3') ? 'mp3' : formats[0] ?? '')
  const [error, setError] = useState<string>()
  const [badField, setBadField] = useState<string>()
  const [busy, setBusy] = useState(false)
  const count = characters(text)

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    setBadField(undefined)
    setBusy(true)
    try {
      const params = { text, ...(voice ? { voice } : {}), ...(speed !== 1 ? { speed } : {}), ...(format ? { format } : {}) }
      const job = await api<Job>('/api/v1/jobs', { method: 'POST', body: { type: 'speak', params } })
      navigate(`/jobs/${job.id}`)
    } catch (reason) {
      setError(errorText(reason))
      if (reason instanceof ApiError && reason.problem.field) setBadField(reason.problem.field.replace(/^(body\.)?params\./, ''))
      setBusy(false)
    }
  }

  return (
    <section className="card" aria-labelledby="speak-title">
      <h2 id="speak-title">Text to speech</h2>
      <form className="translate-form" onSubmit={(e) => { void submit(e) }}>
        {error && <Alert kind="error">{error}</Alert>}
        <ErrorAlert error={voices.error} />
        <div className="field">
          <label htmlFor="speak-text">Text</label>
          <textarea id="speak-text" rows={6} required value={text} aria-invalid={badField === 'text' || count > maxChars || undefined} aria-describedby="speak-count" onChange={(e) => setText(e.target.value)} />
          <p id="speak-count" className={`hint counter${count > maxChars ? ' counter-over' : ''}`}>
            {count.toLocaleString('en')} / {maxChars.toLocaleString('en')} characters · read as plain text
          </p>
        </div>
        <div className="translate-langs">
          <div className="field">
            <label htmlFor="speak-voice">Voice</label>
            <select id="speak-voice" value={voice} aria-invalid={badField === 'voice' || undefined} onChange={(e) => setVoice(e.target.value)}>
              <option value="">Default English voice</option>
              <VoiceOptions groups={voices.groups} />
            </select>
          </div>
          {formats.length > 0 && (
            <div className="field">
              <label htmlFor="speak-format">Format</label>
              <select id="speak-format" value={format} aria-invalid={badField === 'format' || undefined} onChange={(e) => setFormat(e.target.value)}>
                {formats.map((f) => <option key={f} value={f}>{f.toUpperCase()}</option>)}
              </select>
            </div>
          )}
        </div>
        <div className="field">
          <label htmlFor="speak-speed">Speed: <output htmlFor="speak-speed">{speed.toFixed(2)}×</output></label>
          <input id="speak-speed" type="range" min={minSpeed} max={maxSpeed} step={0.05} value={speed} aria-invalid={badField === 'speed' || undefined} aria-describedby="speak-speed-hint" onChange={(e) => setSpeed(Number(e.target.value))} />
          <p id="speak-speed-hint" className="hint">1× is the voice's own pace; from {minSpeed}× to {maxSpeed}×.</p>
        </div>
        <div className="row">
          <button type="submit" className="button primary" disabled={busy}>{busy ? 'Starting…' : 'Speak'}</button>
          {speed !== 1 && <button type="button" className="button secondary" onClick={() => setSpeed(1)}>Normal speed</button>}
        </div>
      </form>
    </section>
  )
}
