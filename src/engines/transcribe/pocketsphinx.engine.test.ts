import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { EngineError } from '../engine.ts'
import type { EngineContext } from '../engine.ts'
import { createPocketsphinxEngine } from './pocketsphinx.engine.ts'
import { wordErrorRate } from './wer.ts'

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox'
const skip = existsSync(join(LIBRIVOX, 'transcription'))
  ? false
  : 'pocketsphinx-testdata is not installed (apt-get install pocketsphinx-testdata): no recordings to recognise'

// Measured 0.28 with pocketsphinx's own search settings on the five utterances (20 errors in 71
// words, "mister" heard as "mr" among them), 0.27 and 0.23 at qualities fast and accurate
// (bench/transcribe/sweep.ts); the margin allows for another build of the same package, not
// for a worse engine.
const MAX_WER = 0.35

const engine = createPocketsphinxEngine()
let dir: string
let speech: string
let reference: string
let workDirs = 0

/** The five utterances one after another with a second of silence between, as one WAV. */
function concatenate (ids: string[]): Buffer {
  const silence = Buffer.alloc(16_000 * 2)
  const pcm = Buffer.concat(ids.flatMap((id, i) => {
    const samples = execFileSync('ffmpeg', ['-v', 'error', '-i', join(LIBRIVOX, `${id}.wav`), '-f', 's16le', '-ac', '1', '-ar', '16000', '-'], { maxBuffer: 1 << 26 })
    return i === 0 ? [samples] : [silence, samples]
  }))
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'latin1')
  header.writeUInt32LE(36 + pcm.length, 4)
  header.write('WAVEfmt ', 8, 'latin1')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(1, 22)
  header.writeUInt32LE(16_000, 24)
  header.writeUInt32LE(32_000, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'latin1')
  header.writeUInt32LE(pcm.length, 40)
  return Buffer.concat([header, pcm])
}

async function context (options: { signal?: AbortSignal, parallelism?: number, stages?: string[] } = {}): Promise<EngineContext> {
  const workDir = join(dir, `work-${workDirs++}`)
  await mkdir(workDir)
  return { progress: (_f, stage) => { options.stages?.push(stage) }, signal: options.signal ?? new AbortController().signal, workDir, parallelism: options.parallelism ?? 2 }
}

const processesIn = (workDir: string) => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(workDir))

const isKind = (kind: string) => (error: unknown) => error instanceof EngineError && error.kind === kind

describe('pocketsphinx engine', { skip }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tympan-pocketsphinx-'))
    const ids = (await readFile(join(LIBRIVOX, 'fileids'), 'utf8')).split('\n').filter(Boolean)
    speech = join(dir, 'librivox.wav')
    await writeFile(speech, concatenate(ids))
    reference = (await readFile(join(LIBRIVOX, 'transcription'), 'utf8'))
      .split('\n').map((line) => line.replace(/<\/?s>|\(.*\)/g, '').trim()).filter(Boolean).join(' ')
  })

  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('reports itself installed with its version and languages', async () => {
    const status = await engine.status()
    assert.equal(status.available, true, status.detail)
    assert.equal(status.package, 'pocketsphinx')
    assert.deepEqual(status.languages, ['en'])
    assert.match(status.version ?? '', /^0\.8/)
  })

  it('transcribes the LibriVox utterances with word timings, within the measured error rate', async (t) => {
    const stages: string[] = []
    const ctx = await context({ stages })
    const partials: Array<{ segment: unknown, stagesBefore: number }> = []
    ctx.partial = (data) => { partials.push({ segment: data.segment, stagesBefore: stages.length }) }
    const started = performance.now()
    const { result, artifacts } = await engine.run({ path: speech, durationSec: 28.73 }, { language: 'en', wordTimestamps: true }, ctx)
    const seconds = (performance.now() - started) / 1000
    const errors = wordErrorRate(reference, result.text)
    t.diagnostic(`WER ${errors.wer.toFixed(3)} (${errors.substitutions} substituted, ${errors.deletions} deleted, ${errors.insertions} inserted of ${errors.referenceWords}); real-time factor ${(seconds / result.duration).toFixed(3)} with 2 processes`)
    assert.ok(errors.wer < MAX_WER, `WER ${errors.wer}: ${result.text}`)

    assert.equal(result.engine, 'pocketsphinx')
    assert.equal(result.language, 'en')
    assert.ok(Math.abs(result.duration - 28.73) < 0.01)
    assert.ok(result.segments.length >= 2, 'the pauses between utterances split them')
    let previousEnd = 0
    for (const [i, segment] of result.segments.entries()) {
      assert.equal(segment.id, i)
      assert.ok(segment.end - segment.start <= 30)
      assert.equal(segment.text, segment.words.map((w) => w.word).join(' '))
      for (const word of segment.words) {
        assert.ok(word.start >= segment.start && word.end <= segment.end, `${word.word} inside its segment`)
        assert.ok(word.start >= previousEnd && word.end >= word.start, `${word.word} after the word before`)
        assert.ok(word.confidence >= 0 && word.confidence <= 1)
        assert.match(word.word, /^[a-z'.-]+$/, 'no fillers or pronunciation numbers')
        previousEnd = word.end
      }
    }

    const recognising = stages.filter((s) => s.startsWith('recognising'))
    assert.equal(recognising.at(-1), `recognising ${recognising.length - 1}/${recognising.length - 1}`)
    // Every segment was reported on its own, in order, and the first while others were still being recognised.
    assert.deepEqual(partials.map((p) => p.segment), result.segments)
    assert.ok(partials[0]!.stagesBefore < stages.lastIndexOf(recognising.at(-1)!), `first partial after stage ${partials[0]!.stagesBefore} of ${stages.join(', ')}`)
    assert.deepEqual(artifacts.map((a) => a.name), ['transcript.txt', 'transcript.srt', 'transcript.vtt', 'transcript.json', 'transcript.verbose.json'])
    // The first cue's words are the WER's business ("and" is heard as "the" at quality fast); here, its shape and time.
    assert.match(await readFile(join(ctx.workDir, 'transcript.srt'), 'utf8'), /^1\n00:00:00,\d{3} --> 00:00:0\d,\d{3}\n[a-z]+ /)
  })

  it('recognises the utterances at quality accurate too, with no more errors than fast', async (t) => {
    const fast = await engine.run({ path: speech, durationSec: 28.73 }, { language: 'en', quality: 'fast' }, await context())
    const accurate = await engine.run({ path: speech, durationSec: 28.73 }, { language: 'en', quality: 'accurate' }, await context())
    const [f, a] = [wordErrorRate(reference, fast.result.text), wordErrorRate(reference, accurate.result.text)]
    t.diagnostic(`WER fast ${f.wer.toFixed(3)}, accurate ${a.wer.toFixed(3)}`)
    assert.ok(a.wer < MAX_WER, `WER ${a.wer}: ${accurate.result.text}`)
    assert.ok(a.wer <= f.wer, `accurate ${a.wer} vs fast ${f.wer}`)
    assert.ok(accurate.result.segments.every((s) => s.words.every((w) => w.confidence >= 0 && w.confidence <= 1)))
  })

  it('rejects a language that is not installed', async () => {
    await assert.rejects(engine.run({ path: speech, durationSec: 28.73 }, { language: 'de' }, await context()),
      (error: unknown) => isKind('invalid-input')(error) && (error as Error).message === 'language "de" is not installed; installed: en')
  })

  it('stops every recogniser when the job is canceled', async () => {
    const controller = new AbortController()
    const ctx = await context({ signal: controller.signal })
    let runningBefore = 0
    ctx.progress = (_fraction, stage) => {
      // Abort once the processes are loading the model, not before they exist.
      if (stage.startsWith('recognising 0/')) {
        setTimeout(() => { runningBefore = processesIn(ctx.workDir).length; controller.abort() }, 300)
      }
    }
    await assert.rejects(engine.run({ path: speech, durationSec: 28.73 }, {}, ctx), isKind('canceled'))
    assert.equal(runningBefore, 2, 'both recognisers were running')
    assert.deepEqual(processesIn(ctx.workDir), [])
    const aborted = AbortSignal.abort()
    await assert.rejects(engine.run({ path: speech, durationSec: 28.73 }, {}, await context({ signal: aborted })), isKind('canceled'))
  })

  it('rejects audio that does not decode', async () => {
    const corrupt = join(dir, 'corrupt.wav')
    await writeFile(corrupt, Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'), Buffer.alloc(64, 0xa5)]))
    await assert.rejects(engine.run({ path: corrupt, durationSec: 1 }, {}, await context()), isKind('invalid-input'))
  })

  it('returns an empty transcript for silence', async () => {
    const silence = join(dir, 'silence.wav')
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-t', '2', silence])
    const { result } = await engine.run({ path: silence, durationSec: 2 }, {}, await context())
    assert.deepEqual([result.text, result.segments, result.duration], ['', [], 2])
  })

  it('names the package to install when the recogniser or its model is missing', async () => {
    await assert.rejects(createPocketsphinxEngine({ binary: join(dir, 'pocketsphinx_batch') }).run({ path: speech, durationSec: 28.73 }, {}, await context()),
      (error: unknown) => isKind('missing-engine')(error) && /pocketsphinx/.test((error as Error).message))
    await assert.rejects(createPocketsphinxEngine({ modelRoot: join(dir, 'no-models') }).run({ path: speech, durationSec: 28.73 }, {}, await context()),
      (error: unknown) => isKind('missing-engine')(error) && /pocketsphinx-en-us/.test((error as Error).message))
    const status = await createPocketsphinxEngine({ binary: join(dir, 'pocketsphinx_batch') }).status()
    assert.equal(status.available, false)
    assert.match(status.detail ?? '', /install the Debian package pocketsphinx\./)
  })
})
