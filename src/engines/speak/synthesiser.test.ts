import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { EngineError } from '../engine.ts'
import { createSynthesiser } from './synthesiser.ts'
import { readWavHeader } from './wav.ts'

const installed = (binary: string) => {
  try { execFileSync('which', [binary], { stdio: 'ignore' }); return true } catch { return false }
}
const skip = ['espeak-ng', 'flite', 'text2wave', 'ffmpeg'].every(installed) ? false : 'festival, flite, espeak-ng and ffmpeg are needed'
const isKind = (kind: string) => (error: unknown) => error instanceof EngineError && error.kind === kind
const processesIn = (dir: string) => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(dir))

describe('synthesiser on the installed engines', { skip }, () => {
  const synthesiser = createSynthesiser()
  let dir: string
  let n = 0
  const workDir = async () => { const d = join(dir, `w${n++}`); await mkdir(d); return d }
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tympan-speak-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('reports the three engines, their voices and languages', async () => {
    const status = await synthesiser.status()
    assert.equal(status.available, true, status.detail)
    assert.match(status.version ?? '', /^1\./)
    assert.match(status.detail ?? '', /^English: festival .*, flite /)
    assert.ok(status.languages?.includes('en') && status.languages.includes('es'))
    assert.ok(status.voices?.includes('festival:slt-hts') && status.voices.includes('flite:rms'))
    assert.equal(status.voiceDetails?.length, status.voices?.length)
  })

  it('synthesises sentence chunks in parallel into one 24 kHz mono WAV, with progress per chunk', async () => {
    const stages: string[] = []
    const text = Array.from({ length: 6 }, (_, i) => `This is sentence number ${i + 1} of a longer text, spoken by flite in a few chunks.`).join(' ')
    const out = join(await workDir(), 'speech.wav')
    const spoken = await synthesiser.synthesise({ text, voice: 'flite:kal16' }, out, { signal: new AbortController().signal, workDir: join(out, '..'), parallelism: 3, progress: (_f, stage) => { stages.push(stage) } })
    const bytes = await readFile(out)
    const info = readWavHeader(bytes, bytes.length)!
    assert.deepEqual([info.sampleRate, info.channels, info.bitsPerSample], [24000, 1, 16])
    assert.equal(spoken.sampleRate, 24000)
    assert.equal(spoken.voice, 'flite:kal16')
    assert.ok(Math.abs(spoken.durationSec - info.durationSec) < 0.002)
    assert.ok(spoken.durationSec > 15, `${spoken.durationSec} s for six sentences`)
    const speaking = stages.filter((s) => s.startsWith('speaking'))
    assert.ok(speaking.length >= 4, `three or more chunks: ${speaking.join(', ')}`)
    assert.equal(speaking.at(-1), `speaking ${speaking.length - 1}/${speaking.length - 1}`)
  })

  it('synthesises several texts in one work directory at once, leaving only their WAVs', async () => {
    const wd = await workDir()
    const texts = ['Uno. Dos. Tres.', 'Cuatro. Cinco.', 'Seis.']
    const spoken = await Promise.all(texts.map((text, i) => synthesiser.synthesise({ text, language: 'es' }, join(wd, `s${i}.wav`), { signal: new AbortController().signal, workDir: wd, parallelism: 2 })))
    assert.deepEqual(spoken.map((s) => s.voice), ['espeak:es', 'espeak:es', 'espeak:es'])
    assert.ok(spoken[0]!.durationSec > spoken[2]!.durationSec)
    assert.deepEqual((await readdir(wd)).sort(), ['s0.wav', 's1.wav', 's2.wav'])
  })

  it('stops the synthesisers at once when canceled', async () => {
    const controller = new AbortController()
    const wd = await workDir()
    const text = 'A rather long sentence that takes festival a while to say. '.repeat(30)
    let running = 0
    const done = synthesiser.synthesise({ text, voice: 'alloy' }, join(wd, 'speech.wav'), {
      signal: controller.signal, workDir: wd, parallelism: 2,
      progress: (_f, stage) => { if (stage.startsWith('speaking 0/')) setTimeout(() => { running = processesIn(wd).length; controller.abort() }, 300) }
    })
    await assert.rejects(done, isKind('canceled'))
    assert.ok(running >= 2, `synthesisers were running: ${running}`)
    assert.deepEqual(processesIn(wd), [])
  })

  it('refuses what no voice can speak, and names the package when nothing is installed', async () => {
    await assert.rejects(synthesiser.synthesise({ text: '!!!' }, join(await workDir(), 'x.wav'), { signal: new AbortController().signal, workDir: dir }), isKind('invalid-input'))
    await assert.rejects(synthesiser.synthesise({ text: 'hi', voice: 'nobody' }, join(await workDir(), 'x.wav'), { signal: new AbortController().signal, workDir: dir }),
      (error: unknown) => isKind('invalid-input')(error) && /Unknown voice "nobody"/.test((error as Error).message))
    const none = join(dir, 'missing')
    const bare = createSynthesiser({ binaries: { festival: none, text2wave: none, flite: none, 'espeak-ng': none } })
    const status = await bare.status()
    assert.equal(status.available, false)
    assert.match(status.detail ?? '', /install the Debian package espeak-ng\.$/)
    await assert.rejects(bare.synthesise({ text: 'hi' }, join(await workDir(), 'x.wav'), { signal: new AbortController().signal, workDir: dir }), isKind('missing-engine'))
  })
})
