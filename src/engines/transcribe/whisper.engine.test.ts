import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { EngineError } from '../engine.ts'
import type { EngineContext } from '../engine.ts'
import { transcribeEngines } from './index.ts'
import { createWhisperEngine, whisperArgs } from './whisper.engine.ts'

const FIXTURE = new URL('./fixtures/whisper-cpp-full.json', import.meta.url).pathname

let dir: string
let tone: string
let model: string
let fake: string
let hang: string
let workDirs = 0

async function context (signal = new AbortController().signal, stages: string[] = []): Promise<EngineContext> {
  const workDir = join(dir, `work-${workDirs++}`)
  await mkdir(workDir)
  return { progress: (_f, stage) => { stages.push(stage) }, signal, workDir, parallelism: 2 }
}

const isKind = (kind: string) => (error: unknown) => error instanceof EngineError && error.kind === kind

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tympan-whisper-'))
  tone = join(dir, 'tone.wav')
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-ar', '16000', tone])
  model = join(dir, 'ggml-base.bin')
  await writeFile(model, 'not really a model')
  // Stands in for whisper-cli: records its arguments, reports progress, writes the recorded JSON.
  fake = join(dir, 'whisper-cli')
  await writeFile(fake, [
    '#!/bin/sh',
    `printf '%s\\n' "$@" > '${dir}/args.txt'`,
    'prefix=""',
    'while [ $# -gt 0 ]; do if [ "$1" = "-of" ]; then prefix="$2"; fi; shift; done',
    'echo "whisper_print_progress_callback: progress =  50%" >&2',
    `cp '${FIXTURE}' "$prefix.json"`,
    ''
  ].join('\n'))
  hang = join(dir, 'whisper-hang')
  await writeFile(hang, `#!/bin/sh\necho $$ > '${dir}/hang.pid'\nexec sleep 60\n`)
  await Promise.all([chmod(fake, 0o755), chmod(hang, 0o755)])
})

after(async () => { await rm(dir, { recursive: true, force: true }) })

async function hangStarted (): Promise<void> {
  for (;;) {
    try {
      if ((await readFile(join(dir, 'hang.pid'), 'utf8')).trim()) return
    } catch { /* not started yet */ }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function hungPidGone (): Promise<boolean> {
  const pid = Number(await readFile(join(dir, 'hang.pid'), 'utf8'))
  try { process.kill(pid, 0); return false } catch { return true }
}

describe('whisper engine', () => {
  it('is unavailable until the binary and the model are set', async () => {
    const status = await transcribeEngines().whisper.status()
    assert.equal(status.available, false)
    assert.equal(status.detail, 'set WHISPER_CPP_BIN and WHISPER_MODEL')
    await assert.rejects(transcribeEngines().whisper.run({ path: tone, durationSec: 1 }, {}, await context()), isKind('missing-engine'))
  })

  it('reports a configured model and its languages', async () => {
    const status = await createWhisperEngine({ bin: fake, model }).status()
    assert.equal(status.available, true)
    assert.ok(status.languages?.includes('de'))
    const english = join(dir, 'ggml-base.en.bin')
    await writeFile(english, 'x')
    assert.deepEqual((await createWhisperEngine({ bin: fake, model: english }).status()).languages, ['en'])
    await assert.rejects(createWhisperEngine({ bin: fake, model: english }).run({ path: tone, durationSec: 1 }, { language: 'de' }, await context()),
      (error: unknown) => isKind('invalid-input')(error) && (error as Error).message === 'language "de" is not installed; installed: en')
    assert.equal((await createWhisperEngine({ bin: join(dir, 'nope'), model }).status()).available, false)
  })

  it('builds the CLI arguments', () => {
    assert.deepEqual(whisperArgs({ model: 'm.bin', wav: 'a.wav', prefix: '/w/out', language: undefined, threads: 2, prompt: 'Tympan', temperature: 0.2 }),
      ['-m', 'm.bin', '-f', 'a.wav', '-l', 'auto', '-oj', '-ojf', '-of', '/w/out', '-t', '2', '-pp', '--prompt', 'Tympan', '-tp', '0.2'])
  })

  it('runs the binary end to end and turns its JSON into a transcript and artifacts', async () => {
    const stages: string[] = []
    const ctx = await context(undefined, stages)
    const { result, artifacts } = await createWhisperEngine({ bin: fake, model }).run({ path: tone, durationSec: 1 }, { language: 'en', prompt: 'Kennedy', wordTimestamps: true }, ctx)
    assert.equal(result.engine, 'whisper')
    assert.equal(result.language, 'en')
    assert.match(result.text, /^And so, my fellow Americans ask not/)
    assert.equal(result.segments[0]?.words.length, 22)
    assert.ok(stages.includes('recognising 50%'))
    const args = (await readFile(join(dir, 'args.txt'), 'utf8')).trim().split('\n')
    assert.deepEqual(args.slice(0, 6), ['-m', model, '-f', join(ctx.workDir, 'audio.wav'), '-l', 'en'])
    assert.ok(args.includes('-ojf') && args.includes('Kennedy'))
    assert.deepEqual(artifacts.map((a) => a.name), ['transcript.txt', 'transcript.srt', 'transcript.vtt', 'transcript.json', 'transcript.verbose.json'])
    const verbose = JSON.parse(await readFile(join(ctx.workDir, 'transcript.verbose.json'), 'utf8')) as { language: string, words: unknown[] }
    assert.equal(verbose.language, 'english')
    assert.equal(verbose.words.length, 22)
  })

  it('kills a binary that hangs when the job is canceled', async () => {
    const controller = new AbortController()
    await rm(join(dir, 'hang.pid'), { force: true })
    const run = createWhisperEngine({ bin: hang, model }).run({ path: tone, durationSec: 1 }, {}, await context(controller.signal))
    // Canceled once the binary runs: a fixed delay could fire during the decode before it.
    await hangStarted()
    controller.abort()
    await assert.rejects(run, isKind('canceled'))
    assert.ok(await hungPidGone(), 'the hung process is gone')
  })

  it('kills a binary that outruns its time budget', async () => {
    const run = createWhisperEngine({ bin: hang, model, timeoutMs: 400 }).run({ path: tone, durationSec: 1 }, {}, await context())
    await assert.rejects(run, isKind('timeout'))
    assert.ok(await hungPidGone(), 'the hung process is gone')
  })
})
