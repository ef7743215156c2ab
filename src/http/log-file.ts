import fs from 'node:fs'
import path from 'node:path'
import type { destination } from 'pino'
import pinoRoll from 'pino-roll'
import { ConfigError, type Config } from '../config/config.ts'
import type { LogFileTarget } from '../config/log-settings.ts'
import { rotatedFilesToDelete, rotationNumber } from './log-retention.ts'

type SonicBoom = ReturnType<typeof destination>
// sonic-boom keeps these on the stream without declaring them in its types.
interface StreamState { file: string | null, destroyed: boolean, _writing: boolean }
const state = (stream: SonicBoom) => stream as unknown as StreamState

const DAY_MS = 86_400_000
// Age is checked at every rotation and on this interval, so that a quiet server, which
// rotates seldom, still lets old files go.
const AGE_CHECK_MS = 3_600_000

export type LogFileSettings = Pick<Config['logs'], 'maxBytes' | 'backupCount' | 'retentionDays'> & { file: LogFileTarget }

export interface LogFile {
  stream: SonicBoom
  /** Every line written so far is in the file, and the retention pass of the last rotation is done. */
  flush: () => Promise<void>
  /** Flushes, stops the age check and closes the file. */
  close: () => Promise<void>
}

/**
 * Resolves once nothing waits to be written. sonic-boom's flush(cb) answers at once when
 * minLength is 0 (its default, kept so that each line leaves without delay): a write or an
 * open under way shows only in its `_writing` flag, and 'drain' or 'ready' follows each.
 */
export async function writtenOut (stream: SonicBoom): Promise<void> {
  while (!state(stream).destroyed && state(stream)._writing) {
    await new Promise<void>((resolve) => {
      const events = ['drain', 'ready', 'error', 'close']
      const done = () => {
        for (const event of events) stream.off(event, done)
        resolve()
      }
      for (const event of events) stream.on(event, done)
    })
  }
}

/**
 * The file half of the log (LOG_FILE): size-based rotation by pino-roll, whose stream is used
 * in this thread like pino.destination (one process writes both outputs, and a fatal exit
 * flushes them synchronously). Rotated files are deleted here, not by pino-roll's `limit`:
 * `limit.count` counts only the files this process created, so every restart would leave its
 * predecessor's files forever; with `removeOtherLogFiles` it lists the directory while the new
 * file may still be opening, so it keeps LOG_BACKUP_COUNT or one more (measured: 3 or 4 files
 * for a count of 3); and it has no age limit. One pass after each open covers all three.
 */
export async function openLogFile (settings: LogFileSettings, report: (error: unknown, message: string) => void): Promise<LogFile> {
  const { file } = settings
  prepareDirectory(file)
  const stream = await pinoRoll({ file: path.join(file.dir, `${file.stem}.${file.extension}`), size: `${settings.maxBytes}b`, mode: 0o600 })
  // Open before the first line: a process that exits at once (a failed start) has nothing to
  // flush into otherwise, and a file that cannot be opened is a start-up error, not a lost log.
  await new Promise<void>((resolve, reject) => {
    stream.once('ready', resolve).once('error', (error: unknown) => {
      reject(new ConfigError(`LOG_FILE=${file.path}: cannot open ${state(stream).file ?? file.path}: ${(error as Error).message}`))
    })
  })

  const removeExpired = async () => {
    const entries = []
    for (const name of await fs.promises.readdir(file.dir)) {
      if (rotationNumber(name, file) === undefined) continue
      const stat = await fs.promises.lstat(path.join(file.dir, name)).catch(() => undefined)
      if (stat?.isFile()) entries.push({ name, mtimeMs: stat.mtimeMs })
    }
    const rule = { current: path.basename(state(stream).file ?? ''), keep: settings.backupCount, maxAgeMs: settings.retentionDays * DAY_MS, now: Date.now() }
    for (const name of rotatedFilesToDelete(entries, file, rule)) await fs.promises.rm(path.join(file.dir, name), { force: true })
  }
  // One pass at a time, in order: a rotation during a pass gets its own pass after it.
  let passes = Promise.resolve()
  const sweep = () => {
    passes = passes.then(removeExpired).catch((error: unknown) => { report(error, `could not delete old log files in ${file.dir}`) })
  }
  // 'ready' follows each open: only then is the new current file known.
  stream.on('ready', sweep)
  sweep()
  // A full disk fails every write: one report says so, and the next only once a write has
  // worked again, so that stdout is not flooded with the same error.
  let failing = false
  stream.on('write', () => { failing = false })
  stream.on('error', (error: unknown) => {
    if (!failing) report(error, `could not write the log file ${state(stream).file ?? file.path}`)
    failing = true
  })
  const ageCheck = settings.retentionDays > 0 ? setInterval(sweep, AGE_CHECK_MS).unref() : undefined
  // pino does this for the destinations it builds (pino.destination): on exit no event loop is
  // left for an asynchronous write.
  const onExit = () => {
    try {
      stream.flushSync()
    } catch {
      // Not open, or already closed: nothing of it can be written now.
    }
  }
  process.on('exit', onExit)

  const flush = async () => {
    await writtenOut(stream)
    await passes
  }
  return {
    stream,
    flush,
    async close () {
      clearInterval(ageCheck)
      process.off('exit', onExit)
      await flush()
      if (state(stream).destroyed) return
      // A file that fails its writes (a full disk) would never end: what it still holds is dropped.
      await new Promise<void>((resolve) => {
        stream.once('close', () => { resolve() }).once('error', () => {
          stream.destroy()
          resolve()
        })
        stream.end()
      })
      await passes
    }
  }
}

/**
 * The directory is created 0700 when missing; one that every user may write is refused: anyone
 * could delete the logs or put a link where the next rotated file is created. Files of earlier
 * runs (written before this check, or by another tool) are made 0600 like every new one.
 */
function prepareDirectory (file: LogFileTarget): void {
  const { dir } = file
  let stat: fs.Stats
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    stat = fs.statSync(dir)
  } catch (error) {
    throw new ConfigError(`LOG_FILE=${file.path}: cannot create its directory ${dir}: ${(error as Error).message}`)
  }
  if (!stat.isDirectory()) throw new ConfigError(`LOG_FILE=${file.path}: ${dir} is not a directory`)
  if ((stat.mode & 0o002) !== 0) {
    throw new ConfigError(`LOG_FILE=${file.path}: its directory ${dir} is writable by every user (mode ${(stat.mode & 0o7777).toString(8)}); use one only Tympan's user may write, such as /var/log/tympan (mode 0750)`)
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK)
    for (const name of fs.readdirSync(dir)) {
      const existing = path.join(dir, name)
      if (rotationNumber(name, file) !== undefined && fs.lstatSync(existing).isFile()) fs.chmodSync(existing, 0o600)
    }
  } catch (error) {
    throw new ConfigError(`LOG_FILE=${file.path}: this user (uid ${process.getuid?.() ?? '?'}) cannot write its directory ${dir} or make its files private: ${(error as Error).message}`)
  }
}
