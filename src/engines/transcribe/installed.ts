import { EngineError } from '../engine.ts'
import { runProcess } from '../process.ts'

// Status probes are not part of a job: nothing cancels them, a short timeout bounds them.
const PROBE = { signal: new AbortController().signal, timeoutMs: 5000 }

/** Whether the binary can be started at all; a usage error still proves it is there. */
export async function binaryInstalled (binary: string, pkg: string): Promise<boolean> {
  try {
    await runProcess(binary, [], { ...PROBE, pkg })
    return true
  } catch (error) {
    return !(error instanceof EngineError && error.kind === 'missing-engine')
  }
}

/** The installed Debian package's version, or undefined off Debian or when it is absent. */
export async function debianVersion (pkg: string): Promise<string | undefined> {
  try {
    const { stdout } = await runProcess('dpkg-query', ['-W', '-f=${Version}', pkg], { ...PROBE, pkg: 'dpkg' })
    return stdout.trim() || undefined
  } catch {
    return undefined
  }
}
