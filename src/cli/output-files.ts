import fsp from 'node:fs/promises'
import path from 'node:path'
import { CliError } from './runtime.ts'

/** A result file: its bytes, or a file on disk to copy (stems too big to hold in memory). */
export type OutputFile = { name: string, body: Buffer } | { name: string, from: string }

const temporaryName = (file: string) => path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)

function writeFailed (out: string, error: unknown): never {
  throw new CliError(`cannot write ${out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
}

/**
 * Writes every file under a temporary name, then renames them into place: an interrupted or
 * failed run leaves no half-written result, and an existing file stays as it was until the
 * new one is whole. `dir` is created if it is missing, and removed again on failure.
 */
export async function writeWhole (dir: string, files: OutputFile[]): Promise<void> {
  let created: string | undefined
  const staged: string[] = []
  try {
    created = await fsp.mkdir(dir, { recursive: true })
    for (const file of files) {
      const target = path.join(dir, file.name)
      staged.push(temporaryName(target))
      if ('from' in file) await fsp.copyFile(file.from, temporaryName(target), fsp.constants.COPYFILE_EXCL)
      else await fsp.writeFile(temporaryName(target), file.body, { flag: 'wx' })
    }
    for (const file of files) await fsp.rename(temporaryName(path.join(dir, file.name)), path.join(dir, file.name))
  } catch (error) {
    await Promise.all(staged.map((tmp) => fsp.rm(tmp, { force: true })))
    if (created) await fsp.rm(created, { recursive: true, force: true })
    writeFailed(dir, error)
  }
}
