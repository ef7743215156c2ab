import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { parseMidi } from 'midi-file'
import { analyzeEngine } from '../analyze/analyze.engine.ts'
import { EngineError, type EngineContext } from '../engine.ts'
import { generateEngine, type GenerateParams } from './generate.engine.ts'

// The real FluidSynth and ffmpeg, with whichever General MIDI SoundFont is installed (set-up
// installs TimGM6mb). Pieces are short: each render and analysis costs a second or two.
const run = promisify(execFile)
const engine = generateEngine()
let dir: string

before(async () => { dir = await mkdtemp(join(tmpdir(), 'tympan-generate-')) })
after(() => rm(dir, { recursive: true, force: true }))

async function generate (params: GenerateParams, over: Partial<EngineContext> = {}) {
  const workDir = await mkdtemp(join(dir, 'work-'))
  const stages: string[] = []
  const output = await engine.run(params, {
    progress: (_fraction, stage) => { if (stages.at(-1) !== stage) stages.push(stage) },
    signal: new AbortController().signal,
    workDir,
    parallelism: 1,
    ...over
  })
  const file = (name: string) => output.artifacts.find((a) => a.name === name)!.path
  return { ...output, stages, file }
}

const durationOf = async (path: string) => Number((await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path])).stdout)

describe('the generate engine, on FluidSynth', () => {
  it('reports FluidSynth and the SoundFont it will use', async () => {
    const status = await engine.status()
    assert.equal(status.available, true, status.detail)
    assert.match(status.version ?? '', /^\d+\.\d+\.\d+$/)
    assert.match(status.detail ?? '', /SoundFont \w+\.sf[23]$/)
  })

  it('renders exactly the duration asked, with the MIDI and what was chosen beside it', async () => {
    const out = await generate({ prompt: 'happy pop with piano, 100 bpm', durationSec: 8.3, seed: 5 })
    assert.deepEqual(out.artifacts.map((a) => [a.name, a.contentType]), [['music.wav', 'audio/wav'], ['music.mid', 'audio/midi'], ['composition.json', 'application/json']])
    assert.deepEqual(out.stages, ['composing', 'rendering', 'encoding'])
    const seconds = await durationOf(out.file('music.wav'))
    assert.ok(Math.abs(seconds - 8.3) < 0.5, `${seconds} s`)
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=sample_rate,channels,codec_name', '-of', 'csv=p=0', out.file('music.wav')])
    assert.equal(stdout.trim(), 'pcm_s16le,44100,2')
    const description = JSON.parse(await readFile(out.file('composition.json'), 'utf8'))
    assert.equal(description.kind, 'procedural')
    assert.deepEqual(description.tempo, { bpm: 100, from: '"100 bpm" in the prompt' })
    assert.equal(description.genre.value, 'pop')
    assert.equal(description.mood.value, 'happy')
    assert.match(description.key.value, / major$/)
    assert.equal(out.result.bpm, 100)
    // The MIDI is the one the composer wrote for these params, whatever renders it.
    assert.deepEqual(await readFile(out.file('music.mid')), await readFile((await generate({ prompt: 'happy pop with piano, 100 bpm', durationSec: 8.3, seed: 5, format: 'mp3' })).file('music.mid')))
  })

  it('encodes mp3 to the duration too', async () => {
    const out = await generate({ prompt: 'dark ambient', durationSec: 5, format: 'mp3' })
    assert.equal(out.artifacts[0]!.name, 'music.mp3')
    const seconds = await durationOf(out.file('music.mp3'))
    assert.ok(Math.abs(seconds - 5) < 0.5, `${seconds} s`)
  })

  it('plays at the tempo asked, as the analysis measures it', async () => {
    for (const [prompt, bpm] of [['hip hop, 90 bpm', 90], ['house', 124], ['calm lofi piano', 76]] as const) {
      const out = await generate({ prompt, durationSec: 12, tempo: bpm, seed: 9 })
      const midi = parseMidi(await readFile(out.file('music.mid')))
      assert.equal(midi.tracks[0]!.find((e) => e.type === 'setTempo')?.microsecondsPerBeat, Math.round(60_000_000 / bpm))
      const workDir = await mkdtemp(join(dir, 'analyze-'))
      const analysis = await analyzeEngine().run({ path: out.file('music.wav'), durationSec: 12 }, {}, { progress: () => {}, signal: new AbortController().signal, workDir, parallelism: 1 })
      const found = analysis.result.tempo?.bpm ?? 0
      assert.ok(Math.abs(found / bpm - 1) < 0.03, `${prompt}: asked ${bpm} BPM, the analysis found ${found}`)
    }
  })

  it('refuses params that cannot work, before anything runs', async () => {
    const bad: [Partial<GenerateParams>, RegExp][] = [
      [{ durationSec: 0 }, /durationSec must be a number from 1 to 300/],
      [{ durationSec: 301 }, /durationSec/],
      [{ durationSec: 'abc' as unknown as number }, /durationSec/],
      [{ prompt: 'x'.repeat(1001) }, /prompt must be 1 to 1000 characters/],
      [{ prompt: '' }, /prompt must be/],
      [{ prompt: '\u0000\u0007\u001b\u200b' }, /no printable characters/],
      [{ tempo: 300 }, /tempo must be from 40 to 240/],
      [{ seed: -1 }, /seed must be an integer/],
      [{ key: 'H major' }, /key must be a key/],
      [{ format: 'ogg' as 'wav' }, /format must be wav or mp3/]
    ]
    for (const [params, message] of bad) {
      await assert.rejects(generate({ prompt: 'pop', durationSec: 4, ...params }), (error: unknown) => error instanceof EngineError && error.kind === 'invalid-input' && message.test(error.message))
    }
  })

  it('composes from what is left of a prompt with control characters in it', async () => {
    const out = await generate({ prompt: 'sad\u0000 piano\u001b\u0007 ballad', durationSec: 3 })
    const description = JSON.parse(await readFile(out.file('composition.json'), 'utf8'))
    assert.equal(description.prompt, 'sad piano ballad')
    assert.equal(description.mood.value, 'sad')
  })

  it('names the package to install when no SoundFont is there, or SOUNDFONT when it is wrong', async () => {
    const bare = generateEngine({ candidates: [] })
    assert.match((await bare.status()).detail ?? '', /install the Debian package timgm6mb-soundfont/)
    await assert.rejects(bare.run({ prompt: 'pop', durationSec: 2 }, { progress: () => {}, signal: new AbortController().signal, workDir: dir, parallelism: 1 }),
      (error: unknown) => error instanceof EngineError && error.kind === 'missing-engine' && /timgm6mb-soundfont/.test(error.message))
    const wrong = generateEngine({ soundfont: join(dir, 'nothing.sf2') })
    const status = await wrong.status()
    assert.equal(status.available, false)
    assert.equal(status.detail, 'SOUNDFONT does not name a readable SoundFont file.')
  })

  it('stops when canceled', async () => {
    const abort = new AbortController()
    abort.abort()
    await assert.rejects(generate({ prompt: 'pop', durationSec: 60 }, { signal: abort.signal }), (error: unknown) => error instanceof EngineError && error.kind === 'canceled')
  })
})
