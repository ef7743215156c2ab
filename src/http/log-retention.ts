import type { LogFileTarget } from '../config/log-settings.ts'

export interface LogFileEntry {
  name: string
  mtimeMs: number
}

export interface LogRetentionRule {
  /** The file being written: never deleted. */
  current: string
  /** Rotated files kept, newest first (LOG_BACKUP_COUNT). */
  keep: number
  /** Rotated files last written longer ago go whatever `keep` says; 0: no age limit. */
  maxAgeMs: number
  now: number
}

const NUMBER = /^[1-9][0-9]{0,9}$/

/** The rotation number of a name pino-roll writes for `target` (`<stem>.<N>.<extension>`), else undefined. */
export function rotationNumber (name: string, target: Pick<LogFileTarget, 'stem' | 'extension'>): number | undefined {
  const prefix = `${target.stem}.`
  const suffix = `.${target.extension}`
  if (!name.startsWith(prefix) || !name.endsWith(suffix) || name.length <= prefix.length + suffix.length) return undefined
  const middle = name.slice(prefix.length, name.length - suffix.length)
  return NUMBER.test(middle) ? Number(middle) : undefined
}

/**
 * Pure: which of the directory's entries to delete. Rotated files of this target beyond the
 * newest `keep`, and any older than `maxAgeMs`; the current file and names of other targets
 * are never touched.
 */
export function rotatedFilesToDelete (entries: LogFileEntry[], target: Pick<LogFileTarget, 'stem' | 'extension'>, rule: LogRetentionRule): string[] {
  const rotated = entries
    .map((entry) => ({ ...entry, number: rotationNumber(entry.name, target) }))
    .filter((entry): entry is LogFileEntry & { number: number } => entry.number !== undefined && entry.name !== rule.current)
    .sort((a, b) => b.number - a.number)
  return rotated
    .filter((entry, index) => index >= rule.keep || (rule.maxAgeMs > 0 && rule.now - entry.mtimeMs > rule.maxAgeMs))
    .map((entry) => entry.name)
}
