// The pure parts of bench/scale: what it concludes from the rows it read from PostgreSQL, the
// object listing and the answers it counted. No I/O here, so each rule has a unit test.

export interface JobRow {
  id: string
  status: string
  attempts: number
}

export interface ArtifactRow {
  job_id: string
  name: string
  object_id: string
}

export interface Verdict {
  ok: boolean
  /** The first few problems, in words, for the result table. */
  problems: string[]
}

const MAX_PROBLEMS = 5

function verdict (problems: string[]): Verdict {
  const shown = problems.slice(0, MAX_PROBLEMS)
  if (problems.length > MAX_PROBLEMS) shown.push(`… and ${problems.length - MAX_PROBLEMS} more`)
  return { ok: problems.length === 0, problems: shown }
}

/**
 * Every job the bench was told about exists and succeeded, exactly once: one `succeeded`
 * status event, and exactly the expected artifact names, each once, each a distinct object.
 * `succeededEvents` counts the status events that said `succeeded`, per job.
 */
export function exactlyOnce (expected: readonly string[], jobs: readonly JobRow[], artifacts: readonly ArtifactRow[], succeededEvents: ReadonlyMap<string, number>, artifactNames: readonly string[]): Verdict {
  const problems: string[] = []
  const byId = new Map(jobs.map((job) => [job.id, job]))
  const namesByJob = new Map<string, string[]>()
  const objectOwners = new Map<string, string>()
  for (const artifact of artifacts) {
    const names = namesByJob.get(artifact.job_id) ?? []
    names.push(artifact.name)
    namesByJob.set(artifact.job_id, names)
    const owner = objectOwners.get(artifact.object_id)
    if (owner !== undefined) problems.push(`object ${artifact.object_id} is an artifact of ${owner} and of ${artifact.job_id}`)
    objectOwners.set(artifact.object_id, artifact.job_id)
  }
  const wanted = [...artifactNames].sort()
  for (const id of new Set(expected)) {
    const job = byId.get(id)
    if (!job) { problems.push(`job ${id} is missing`); continue }
    if (job.status !== 'succeeded') { problems.push(`job ${id} ended ${job.status}`); continue }
    const events = succeededEvents.get(id) ?? 0
    if (events !== 1) problems.push(`job ${id} succeeded ${events} times`)
    const names = [...(namesByJob.get(id) ?? [])].sort()
    if (names.join(',') !== wanted.join(',')) problems.push(`job ${id} has artifacts [${names.join(', ')}], expected [${wanted.join(', ')}]`)
  }
  return verdict(problems)
}

/**
 * Rows and objects agree: every object a row names is stored, and every stored object is
 * named by a row (the file rows' ids and the artifact rows' object ids).
 */
export function orphans (rowObjects: Iterable<string>, stored: Iterable<string>): Verdict & { rowsWithoutObject: number, objectsWithoutRow: number } {
  const named = new Set(rowObjects)
  const present = new Set(stored)
  const rowsWithoutObject = [...named].filter((id) => !present.has(id))
  const objectsWithoutRow = [...present].filter((id) => !named.has(id))
  const result = verdict([
    ...rowsWithoutObject.map((id) => `row names object ${id}, which is not stored`),
    ...objectsWithoutRow.map((id) => `object ${id} is stored, but no row names it`)
  ])
  return { ...result, rowsWithoutObject: rowsWithoutObject.length, objectsWithoutRow: objectsWithoutRow.length }
}

/** What one request came back with: an HTTP status, or why it did not. */
export type Outcome = number | 'timeout' | 'error'

export function countOutcomes (outcomes: Iterable<Outcome>): Map<string, number> {
  const counts = new Map<string, number>()
  for (const outcome of outcomes) counts.set(String(outcome), (counts.get(String(outcome)) ?? 0) + 1)
  return counts
}

/** `200×120 503×14 timeout×1`, statuses in numeric order, then the failures. */
export function formatCounts (counts: ReadonlyMap<string, number>): string {
  if (counts.size === 0) return 'none'
  const rank = (key: string) => /^\d+$/.test(key) ? Number(key) : 1000 + key.length
  return [...counts].sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b)).map(([key, n]) => `${key}×${n}`).join(' ')
}

/** The 1-based position of the first 429 among the answers, or undefined when none came. */
export function firstRefusal (statuses: readonly number[]): number | undefined {
  const index = statuses.indexOf(429)
  return index === -1 ? undefined : index + 1
}

/**
 * A budget of `limit` requests shared by every node refuses the (limit + 1)th request; with
 * counters kept per node the refusal would come only after `nodes × limit`. `slack` allows
 * for requests the store counted that the bench did not send (none, here, but a retry might).
 */
export function sharedBudgetHeld (statuses: readonly number[], limit: number, slack = 0): boolean {
  const first = firstRefusal(statuses)
  return first !== undefined && first >= limit + 1 - slack && first <= limit + 1 + slack
}

export interface ThroughputRun {
  workers: number
  jobs: number
  seconds: number
}

/** Jobs per second and the ratio to the first run (the 1-worker baseline of the same run). */
export function throughput (runs: readonly ThroughputRun[]): { workers: number, jobs: number, seconds: number, jobsPerSecond: number, ratio: number }[] {
  const base = runs[0] ? runs[0].jobs / runs[0].seconds : 0
  return runs.map((run) => {
    const jobsPerSecond = run.jobs / run.seconds
    return { ...run, jobsPerSecond, ratio: base > 0 ? jobsPerSecond / base : 0 }
  })
}

/** A markdown table; `|` inside a cell is escaped so a problem's words cannot break it. */
export function markdownTable (header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (value: string | number) => String(value).replaceAll('|', '\\|').replaceAll('\n', ' ')
  const lines = [header, header.map(() => '---'), ...rows].map((row) => `| ${row.map(cell).join(' | ')} |`)
  return lines.join('\n')
}
