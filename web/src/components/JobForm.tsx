import { useMemo, useState, type FormEvent } from 'react'
import { api, ApiError, errorText } from '../api.ts'
import { navigate } from '../router.tsx'
import type { AudioFile, Job, JobType, JsonSchema, Page } from '../types.ts'
import { languageName } from '../languages.ts'
import { Alert, ErrorAlert, useLoad } from '../ui.tsx'
import { routesFrom, sourcesOf, TargetOptions, useLanguages, useVoices, VoiceOptions } from './Pickers.tsx'

// A job form is built from the type's params schema (GET /api/v1/job-types), so a type added
// on the server gets its form without a change here. The server validates again and its 422
// names the field, which is then marked.

type Value = string | boolean | string[]

interface Field {
  name: string
  label: string
  schema: JsonSchema
  kind: 'select' | 'text' | 'textarea' | 'number' | 'boolean' | 'choices' | 'json' | 'language' | 'voice'
  options?: string[]
  required: boolean
}

const humanize = (name: string) => {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

/** The literal choices of a schema (`anyOf` of consts, or `enum`), if it is one. */
export function choices (schema: JsonSchema | undefined): string[] | undefined {
  if (!schema) return undefined
  if (schema.enum) return schema.enum.map(String)
  if (schema.anyOf?.length && schema.anyOf.every((s) => s.const !== undefined)) return schema.anyOf.map((s) => String(s.const))
  return undefined
}

/** The browser anchors `pattern` itself and compiles it with the `v` flag; one it cannot compile is left to the server. */
function htmlPattern (pattern: string | undefined): string | undefined {
  if (!pattern) return undefined
  const inner = pattern.replace(/^\^/, '').replace(/\$$/, '')
  try {
    new RegExp(`^(?:${inner})$`, 'v')
    return inner
  } catch {
    return undefined
  }
}

const typeOf = (schema: JsonSchema) => Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type

export function fieldsOf (schema: JsonSchema): Field[] {
  const required = new Set(schema.required ?? [])
  return Object.entries(schema.properties ?? {}).map(([name, s]) => {
    const base = { name, label: humanize(name), schema: s, required: required.has(name) }
    const options = choices(s)
    if (options) return { ...base, kind: 'select', options }
    const type = typeOf(s)
    // Named conventions of the job types: `source_lang`/`target_lang` are translation codes,
    // `voice` a speech voice; they get pickers of what the server has installed.
    if (type === 'string' && /_lang$/.test(name)) return { ...base, kind: 'language' }
    if (type === 'string' && name === 'voice') return { ...base, kind: 'voice' }
    if (type === 'boolean') return { ...base, kind: 'boolean' }
    if (type === 'number' || type === 'integer') return { ...base, kind: 'number' }
    if (type === 'string') return { ...base, kind: (s.maxLength ?? 0) > 200 ? 'textarea' : 'text' }
    if (type === 'array' && choices(s.items)) return { ...base, kind: 'choices', options: choices(s.items)! }
    return { ...base, kind: 'json' }
  })
}

function initialValue (field: Field): Value {
  const d = field.schema.default
  if (field.kind === 'boolean') return typeof d === 'boolean' ? d : false
  if (field.kind === 'choices') return Array.isArray(d) ? d.map(String) : []
  if (field.kind === 'json') return d === undefined ? '' : JSON.stringify(d)
  return d === undefined ? '' : String(d)
}

/** The params to send: empty optional fields are left out, so the server's defaults apply. */
export function paramsFrom (fields: Field[], values: Record<string, Value>): Record<string, unknown> {
  const params: Record<string, unknown> = {}
  for (const field of fields) {
    const value = values[field.name]
    if (value === undefined) continue
    if (field.kind === 'boolean') { params[field.name] = value; continue }
    if (field.kind === 'choices') { if ((value as string[]).length || field.required) params[field.name] = value; continue }
    const text = String(value).trim()
    if (text === '') continue
    if (field.kind === 'number') params[field.name] = Number(text)
    else if (field.kind === 'json') params[field.name] = JSON.parse(text) as unknown
    else if (field.kind === 'select') {
      const literal = field.schema.anyOf?.find((s) => String(s.const) === text)?.const ?? field.schema.enum?.find((e) => String(e) === text)
      params[field.name] = literal ?? text
    } else params[field.name] = field.kind === 'textarea' ? String(value) : text
  }
  return params
}

export function JobStarter ({ fileId, onlyInput }: { fileId?: string, onlyInput?: 'file' | 'none' }) {
  const types = useLoad((signal) => api<{ items: JobType[] }>('/api/v1/job-types', { signal }), [])
  const usable = (types.data?.items ?? []).filter((t) => (fileId ? t.input === 'file' : true) && (!onlyInput || t.input === onlyInput))
  const [typeName, setTypeName] = useState<string>()
  const type = usable.find((t) => t.name === typeName) ?? usable[0]

  return (
    <section className="card" aria-labelledby="start-title">
      <h2 id="start-title">Start a job</h2>
      <ErrorAlert error={types.error} />
      {usable.length > 0 && (
        <div className="type-picker" role="radiogroup" aria-label="Job type">
          {usable.map((t) => (
            <label key={t.name} className={`type-option${t === type ? ' type-option-on' : ''}`}>
              <input type="radio" name="job-type" value={t.name} checked={t === type} onChange={() => setTypeName(t.name)} />
              <span className="type-name">{t.name}</span>
              <span className="type-summary">{t.summary}</span>
            </label>
          ))}
        </div>
      )}
      {type && <JobTypeForm key={type.name} type={type} fileId={fileId} />}
    </section>
  )
}

function JobTypeForm ({ type, fileId }: { type: JobType, fileId?: string }) {
  const fields = useMemo(() => fieldsOf(type.params), [type])
  const [values, setValues] = useState<Record<string, Value>>(() => Object.fromEntries(fields.map((f) => [f.name, initialValue(f)])))
  const [chosenFile, setChosenFile] = useState(fileId ?? '')
  const [error, setError] = useState<string>()
  const [badField, setBadField] = useState<string>()
  const [busy, setBusy] = useState(false)
  const needsFile = type.input === 'file' && !fileId
  const files = useLoad((signal) => needsFile ? api<Page<AudioFile>>('/api/v1/files?limit=100', { signal }) : Promise.resolve(undefined), [needsFile])

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    setBadField(undefined)
    let params: Record<string, unknown>
    try {
      params = paramsFrom(fields, values)
    } catch {
      setError('A JSON field does not hold valid JSON.')
      return
    }
    setBusy(true)
    try {
      const job = await api<Job>('/api/v1/jobs', { method: 'POST', body: { type: type.name, ...(type.input === 'file' ? { fileId: chosenFile } : {}), params } })
      navigate(`/jobs/${job.id}`)
    } catch (reason) {
      setError(errorText(reason))
      if (reason instanceof ApiError && reason.problem.field) setBadField(reason.problem.field.replace(/^(body\.)?params\./, ''))
      setBusy(false)
    }
  }

  const set = (name: string, value: Value) => setValues((v) => ({ ...v, [name]: value }))

  return (
    <form className="stack job-form" onSubmit={(e) => { void submit(e) }} aria-label={`Parameters of ${type.name}`} noValidate={false}>
      {error && <Alert kind="error">{error}</Alert>}
      {needsFile && (
        <>
          <label htmlFor="job-file">Input file</label>
          <select id="job-file" required value={chosenFile} onChange={(e) => setChosenFile(e.target.value)}>
            <option value="">Choose a file…</option>
            {files.data?.items.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
          </select>
        </>
      )}
      {fields.length === 0 && <p className="muted">This job type takes no parameters.</p>}
      {fields.map((field) => <FieldInput key={field.name} field={field} value={values[field.name]!} values={values} invalid={badField === field.name} onChange={(v) => set(field.name, v)} />)}
      <div className="row">
        <button type="submit" className="button primary" disabled={busy}>{busy ? 'Starting…' : `Start ${type.name}`}</button>
      </div>
    </form>
  )
}

interface FieldProps { field: Field, value: Value, values: Record<string, Value>, invalid: boolean, onChange: (v: Value) => void }

function FieldInput ({ field, value, values, invalid, onChange }: FieldProps) {
  const id = `param-${field.name}`
  const hintId = field.schema.description ? `${id}-hint` : undefined
  const common = { id, 'aria-invalid': invalid || undefined, 'aria-describedby': hintId, required: field.required }
  const hint = field.schema.description && <p id={hintId} className="hint">{field.schema.description}</p>
  const label = <label htmlFor={id}>{field.label}{field.required ? ' (required)' : ''}</label>

  switch (field.kind) {
    case 'language':
      return <LanguageField field={field} value={value} values={values} invalid={invalid} onChange={onChange} />
    case 'voice':
      return <VoiceField field={field} value={value} values={values} invalid={invalid} onChange={onChange} />
    case 'boolean':
      return (
        <div className="field-check">
          <input type="checkbox" {...common} required={false} checked={value as boolean} onChange={(e) => onChange(e.target.checked)} />
          {label}
          {hint}
        </div>
      )
    case 'select':
      return (
        <div className="field">
          {label}
          <select {...common} value={value as string} onChange={(e) => onChange(e.target.value)}>
            {!field.required && <option value="">Server default</option>}
            {field.options!.map((o) => <option key={o} value={o}>{o}</option>)}
          </select>
          {hint}
        </div>
      )
    case 'choices':
      return (
        <fieldset className="field">
          <legend>{field.label}</legend>
          {field.options!.map((o) => (
            <label key={o} className="inline-check">
              <input type="checkbox" checked={(value as string[]).includes(o)} onChange={(e) => onChange(e.target.checked ? [...(value as string[]), o] : (value as string[]).filter((x) => x !== o))} /> {o}
            </label>
          ))}
          {hint}
        </fieldset>
      )
    case 'number':
      return (
        <div className="field">
          {label}
          <input type="number" inputMode="decimal" {...common} value={value as string} min={field.schema.minimum} max={field.schema.maximum} step={typeOf(field.schema) === 'integer' ? 1 : 'any'} onChange={(e) => onChange(e.target.value)} />
          {hint}
        </div>
      )
    case 'textarea':
      return (
        <div className="field">
          {label}
          <textarea {...common} rows={5} value={value as string} maxLength={field.schema.maxLength} minLength={field.schema.minLength} onChange={(e) => onChange(e.target.value)} />
          {hint}
        </div>
      )
    case 'json':
      return (
        <div className="field">
          {label}
          <textarea {...common} rows={3} className="mono" value={value as string} onChange={(e) => onChange(e.target.value)} aria-describedby={`${id}-json ${hintId ?? ''}`.trim()} />
          <p id={`${id}-json`} className="hint">As JSON.</p>
          {hint}
        </div>
      )
    default:
      return (
        <div className="field">
          {label}
          <input type="text" {...common} value={value as string} maxLength={field.schema.maxLength} minLength={field.schema.minLength} pattern={htmlPattern(field.schema.pattern)} onChange={(e) => onChange(e.target.value)} />
          {hint}
        </div>
      )
  }
}

/** A language code: the languages translation reaches; a target follows the chosen source. */
function LanguageField ({ field, value, values, invalid, onChange }: FieldProps) {
  const languages = useLanguages()
  const routes = languages.data?.routes ?? []
  const id = `param-${field.name}`
  const source = typeof values.source_lang === 'string' && values.source_lang ? values.source_lang : 'en'
  // Without the routes (an error, or none installed) the code is typed, as the schema allows.
  if (languages.error || (languages.data && routes.length === 0)) return <FieldInput field={{ ...field, kind: 'text' }} value={value} values={values} invalid={invalid} onChange={onChange} />
  const hintId = field.schema.description ? `${id}-hint` : undefined
  return (
    <div className="field">
      <label htmlFor={id}>{field.label}{field.required ? ' (required)' : ''}</label>
      <select id={id} required={field.required} aria-invalid={invalid || undefined} aria-describedby={hintId} value={value as string} onChange={(e) => onChange(e.target.value)}>
        <option value="">{field.required ? 'Choose…' : 'Server default'}</option>
        {field.name === 'source_lang'
          ? sourcesOf(routes).map((code) => <option key={code} value={code}>{languageName(code)} ({code})</option>)
          : <TargetOptions routes={routesFrom(routes, source)} />}
      </select>
      {hintId && <p id={hintId} className="hint">{field.schema.description}</p>}
    </div>
  )
}

/** A speech voice, of the target language when the form has one. */
function VoiceField ({ field, value, values, invalid, onChange }: FieldProps) {
  const voices = useVoices()
  const id = `param-${field.name}`
  const language = typeof values.target_lang === 'string' && values.target_lang ? values.target_lang : undefined
  const hintId = field.schema.description ? `${id}-hint` : undefined
  return (
    <div className="field">
      <label htmlFor={id}>{field.label}</label>
      <select id={id} aria-invalid={invalid || undefined} aria-describedby={hintId} value={value as string} onChange={(e) => onChange(e.target.value)}>
        <option value="">Server default</option>
        <VoiceOptions groups={voices.groups} language={language} />
      </select>
      {hintId && <p id={hintId} className="hint">{field.schema.description}</p>}
    </div>
  )
}
