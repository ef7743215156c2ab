/**
 * The contract every capability's engine keeps. Engines never import http/ or modules/: the job
 * runner hands them a readable audio path and a private work directory, and takes back a JSON
 * result plus artifact files, which it stores itself (temp names, then renames).
 */

export interface EngineStatus {
  name: string
  available: boolean
  /** What the engine itself reports (`ffmpeg -version`, a package version). */
  version?: string
  /**
   * The Debian package that provides it, for the "install X" message when it is missing; empty
   * when none does (whisper.cpp is the operator's own build, configured by path).
   */
  package: string
  /** ISO 639-1 codes the engine can work in, where language applies. */
  languages?: string[]
  voices?: string[]
  /** What each of `voices` is, for engines whose voices differ in more than a name (speech). */
  voiceDetails?: VoiceDetail[]
  detail?: string
}

export interface VoiceDetail {
  id: string
  engine: string
  /** The language tag it speaks, lowercased (`en-us`, `es-419`). */
  language: string
  description: string
  /** The OpenAI voice names that choose it. */
  openai?: string[]
  /** Other language tags it answers to. */
  aliases?: string[]
}

export interface EngineContext {
  /** Fraction 0–1 of the whole run and a short human stage ("decoding", "recognising 3/9"). */
  progress: (fraction: number, stage: string) => void
  /** Aborted on cancel, on timeout and when the worker loses the job: kill child processes at once. */
  signal: AbortSignal
  /** Empty, private to this attempt, removed afterwards: write artifacts and scratch files here. */
  workDir: string
  /** How many child processes the engine may run at once. */
  parallelism: number
  /**
   * A piece of the result that is already final (a recognised segment), in result order, for
   * clients that stream it; the runner records each as a `partial` job event. Absent when
   * nobody listens: an engine must not depend on it.
   */
  partial?: (data: Record<string, unknown>) => void
}

export interface ArtifactFile {
  /** The name clients fetch it by: `waveform.png`, `transcript.srt`. [a-z0-9._-] only. */
  name: string
  /** Absolute path inside `workDir`. */
  path: string
  contentType: string
}

export interface EngineOutput<R> {
  result: R
  artifacts: ArtifactFile[]
}

export interface EngineInput {
  /** A local path the engine may read but never write. */
  path: string
  durationSec: number
}

export interface Engine<P, R> {
  name: string
  status: () => Promise<EngineStatus>
  run: (input: EngineInput, params: P, context: EngineContext) => Promise<EngineOutput<R>>
}

/** An engine that makes its output from params alone (speech, music): no input file. */
export interface SourceEngine<P, R> {
  name: string
  status: () => Promise<EngineStatus>
  run: (params: P, context: EngineContext) => Promise<EngineOutput<R>>
}

/**
 * Why a run failed, which decides what the job runner does next:
 * - `invalid-input`: the audio or params can never work; fail at once, no retry.
 * - `missing-engine`: the binary or model is not installed; fail at once, say which package.
 * - `transient`: anything that might work on another attempt (a crash, a full disk); retried.
 * - `timeout`: the engine outran its time budget; retried like transient.
 * - `canceled`: the signal was aborted; the runner records the cancel, never a failure.
 * `message` is shown to the job's owner, so it carries no paths or internals.
 */
export type EngineErrorKind = 'invalid-input' | 'missing-engine' | 'transient' | 'timeout' | 'canceled'

export class EngineError extends Error {
  readonly kind: EngineErrorKind
  constructor (kind: EngineErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EngineError'
    this.kind = kind
  }
}
