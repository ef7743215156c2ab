import path from 'node:path'

/** Where the log file goes: pino-roll writes `<dir>/<stem>.<N>.<extension>`, the highest N being the current file. */
export interface LogFileTarget {
  /** LOG_FILE as resolved, for messages. */
  path: string
  dir: string
  stem: string
  extension: string
}

const UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }
// The seed policy writes LOG_MAX_SIZE=100MB: KB, MB, GB (and KiB…) read as the 1024-based
// unit, as pino-roll counts. Nothing else: no fractions, no bare numbers (pino-roll would read
// "100" as 100 MB, an operator might mean bytes).
const SIZE = /^([1-9][0-9]{0,6})([kmg])(?:i?b)?$/i
const MIN_SIZE = 1024
const MAX_SIZE = 64 * 1024 ** 3

/** Pure: LOG_MAX_SIZE in bytes, or the reason it is not a size. */
export function parseLogSize (value: string): number | { problem: string } {
  const match = SIZE.exec(value.trim())
  const bytes = match ? Number(match[1]) * UNITS[match[2]!.toLowerCase()]! : Number.NaN
  if (!(bytes >= MIN_SIZE && bytes <= MAX_SIZE)) {
    return { problem: `LOG_MAX_SIZE must be a whole number of k, m or g between 1k and 64g, such as 100k or 10m (got ${JSON.stringify(value)})` }
  }
  return bytes
}

// A plain file name: no shell or Windows specials (pino-roll refuses `<>:"|?*` itself, with a
// less helpful message). An extension needs two or more characters: pino-roll drops a
// one-character one from the rotated names, so `app.x` is a stem and gets `.log`.
const STEM = /^[\w-][\w.-]*$/
const EXTENSION = /^[A-Za-z][A-Za-z0-9]{1,9}$/
const UNSAFE_IN_PATH = /[<>:"|?*\u0000-\u001f]/ // eslint-disable-line no-control-regex

/** Pure: LOG_FILE resolved into the names pino-roll writes, or the reason it cannot be one. */
export function parseLogFile (value: string): LogFileTarget | { problem: string } {
  const resolved = path.resolve(value)
  const base = path.basename(resolved)
  const dot = base.lastIndexOf('.')
  const tail = dot > 0 ? base.slice(dot + 1) : ''
  const [stem, extension] = EXTENSION.test(tail) ? [base.slice(0, dot), tail] : [base, 'log']
  if (value.endsWith('/') || UNSAFE_IN_PATH.test(resolved) || !STEM.test(stem) || stem.endsWith('.')) {
    return { problem: `LOG_FILE must be a file path ending in a plain name such as /var/log/tympan/tympan.log (letters, digits, '.', '_', '-'; got ${JSON.stringify(value)})` }
  }
  return { path: resolved, dir: path.dirname(resolved), stem, extension }
}
