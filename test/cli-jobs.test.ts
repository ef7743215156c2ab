import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { progressReporter } from '../src/cli/progress.ts'
import { wordErrorRate } from '../src/engines/transcribe/wer.ts'
import { startApp, type TestApp } from './helpers/app.ts'
import { fixture } from './helpers/audio.ts'
import { librivoxMissing, librivoxRecording, utterances } from './helpers/librivox.ts'
import { freePort } from './helpers/net.ts'
import { runTympan, TYMPAN, type CliResult } from './helpers/cli.ts'

// End to end: `tympan transcribe` and `tympan analyze` in a child process with the real
// engines, run here and against an in-process server. Each local transcription of one
// utterance costs about 2 s of pocketsphinx (and a second of Node start-up), so each case runs
// at most one, and each group runs two cases at a time.
const ROOT = path.resolve(import.meta.dirname, '..')
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const JOB_SCOPES = ['files:read', 'files:write', 'jobs:read', 'jobs:write']
const skip = librivoxMissing()

type Result = Omit<CliResult, 'signal'>

const temps: string[] = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-cli-jobs-'))
  temps.push(dir)
  return dir
}
after(() => { for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true }) })

// A data directory that does not exist: a local run must not create one (no secrets, no database).
const dataDir = path.join(tempDir(), 'data')

function env (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? os.tmpdir(),
    LANG: 'C.UTF-8',
    TYMPAN_DATA_DIR: dataDir,
    ...extra
  }
}

const run = (args: string[], extra: Record<string, string> = {}, cwd = tempDir(), timeoutMs = 120_000): Promise<Result> =>
  runTympan(args, { env: env(extra), cwd, timeoutMs })

/** Runs until stderr matches `when`, then sends SIGINT as Ctrl-C would. */
async function interrupt (args: string[], extra: Record<string, string>, cwd: string, when: RegExp): Promise<Result> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(TYMPAN, args, { cwd, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let sent = false
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
      if (!sent && when.test(stderr)) { sent = true; child.kill('SIGINT') }
    })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
  })
}

const ok = (res: Result) => { assert.equal(res.code, 0, `exit ${res.code}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`) }

/** A failure the user can read: non-zero, one `tympan: …` line with the message, no stack trace. */
function refused (res: Result, message: RegExp) {
  assert.notEqual(res.code, 0, `expected a failure\nstdout: ${res.stdout}\nstderr: ${res.stderr}`)
  assert.equal(res.code, 1)
  assert.match(res.stderr, /^tympan: /m)
  assert.match(res.stderr, message)
  assert.doesNotMatch(res.stderr, /unexpected failure|\n\s+at .*\(.*:\d+:\d+\)/, 'a stack trace reached the user')
  assert.equal(res.stdout, '', 'nothing on stdout')
}

interface Cue { index: number, start: number, end: number, text: string }

const clock = (h: string, m: string, s: string, ms: string) => Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000

function parseSrt (body: string): Cue[] {
  assert.ok(body.endsWith('\n'), 'SRT ends with a newline')
  return body.trim().split(/\n\n/).map((block) => {
    const match = /^(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+(?:\n.+)?)$/.exec(block)
    assert.ok(match, `not an SRT cue:\n${block}`)
    const m = match as unknown as string[]
    return { index: Number(m[1]), start: clock(m[2]!, m[3]!, m[4]!, m[5]!), end: clock(m[6]!, m[7]!, m[8]!, m[9]!), text: m[10]! }
  })
}

function parseVtt (body: string): Cue[] {
  assert.match(body, /^WEBVTT\n\n/)
  return body.slice('WEBVTT\n\n'.length).trim().split(/\n\n/).map((block, i) => {
    // The identifier line is optional in WebVTT; Tympan numbers its cues like SRT.
    const match = /^(?:(\d+)\n)?(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n(.+(?:\n.+)?)$/.exec(block)
    assert.ok(match, `not a WebVTT cue:\n${block}`)
    const m = match as unknown as string[]
    return { index: m[1] ? Number(m[1]) : i + 1, start: clock(m[2]!, m[3]!, m[4]!, m[5]!), end: clock(m[6]!, m[7]!, m[8]!, m[9]!), text: m[10]! }
  })
}

function assertCues (cues: Cue[], durationSec: number) {
  assert.ok(cues.length > 0)
  let previousEnd = 0
  cues.forEach((cue, i) => {
    assert.equal(cue.index, i + 1)
    assert.ok(cue.start >= previousEnd && cue.end > cue.start && cue.end <= durationSec + 0.01, `cue ${i + 1}: ${cue.start} → ${cue.end}`)
    previousEnd = cue.end
  })
}

/** Both CLI paths (here and remote) print the same text: close to what the reader said. */
function assertHeard (text: string, reference: string) {
  assert.ok(text.endsWith('\n') && !text.endsWith('\n\n'), `one line with one newline: ${JSON.stringify(text)}`)
  assert.equal(text.trim().split('\n').length, 1, 'stdout holds only the transcript')
  assert.doesNotMatch(text, /%|recognising|decoding/, 'progress reached stdout')
  const { wer } = wordErrorRate(reference, text)
  assert.ok(wer < 0.6, `WER ${wer.toFixed(2)}: "${text.trim()}" for "${reference}"`)
}

const all = skip ? [] : utterances()
// "he was not an ill disposed young man": the shortest utterance, about 2.5 s.
const short = all.find((u) => u.id.endsWith('0880'))!
const other = all.find((u) => u.id.endsWith('0930'))!
const durationOf = (file: string) => fs.statSync(file).size / (16000 * 2)
const localText = new Map<string, string>()
// At least 30 s of speech, so that a run is still going when it is interrupted.
let recording: { file: string } | undefined
const long = () => (recording ??= librivoxRecording(30))

describe('tympan transcribe and analyze', { skip, concurrency: false }, () => {
  describe('on this machine', { concurrency: 2 }, () => {
    it('transcribes to stdout as text, with progress lines on stderr only', async () => {
      const res = await run(['transcribe', short.file])
      ok(res)
      assertHeard(res.stdout, short.reference)
      localText.set(short.id, res.stdout)
      // Not a terminal: plain lines, one per stage, on stderr.
      assert.match(res.stderr, /^\s*\d+%\s+recognising \d+\/\d+$/m)
      assert.match(res.stderr, /^\s*0%\s+decoding$/m)
      assert.doesNotMatch(res.stderr, /\r/, 'no redrawn bar when stderr is not a terminal')
      assert.ok(!fs.existsSync(dataDir), 'a local run created the data directory')
    })

    it('writes SRT to --out, valid cues within the recording, and nothing to stdout', async () => {
      const cwd = tempDir()
      const res = await run(['transcribe', other.file, '--format', 'srt', '--out', 'subtitles.srt'], {}, cwd)
      ok(res)
      assert.equal(res.stdout, '')
      assert.match(res.stderr, /recognising/)
      assert.deepEqual(fs.readdirSync(cwd), ['subtitles.srt'], 'only the result, no temporary files')
      const cues = parseSrt(fs.readFileSync(path.join(cwd, 'subtitles.srt'), 'utf8'))
      assertCues(cues, durationOf(other.file))
      assert.ok(wordErrorRate(other.reference, cues.map((c) => c.text).join(' ')).wer < 0.6)
    })

    it('draws a redrawn bar on a terminal, still on stderr only; WebVTT with --format vtt', { skip: fs.existsSync('/usr/bin/script') ? false : 'util-linux script is not installed' }, async () => {
      // script(1) gives the command a pseudo-terminal; stdout goes to a file inside it.
      const cwd = tempDir()
      const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`
      const command = `${quote(TYMPAN)} transcribe ${quote(short.file)} --format vtt --language en > out.vtt`
      const res = await new Promise<Result>((resolve, reject) => {
        const started = Date.now()
        const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd, env: env(), stdio: ['ignore', 'pipe', 'pipe'] })
        let stdout = ''
        child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
        child.on('error', reject)
        child.on('close', (code) => { resolve({ code, stdout, stderr: '', ms: Date.now() - started }) })
      })
      ok(res)
      assert.match(res.stdout, /\r\[#*-*\] +\d+% +recognising \d+\/\d+/, `no bar on the terminal: ${JSON.stringify(res.stdout)}`)
      assert.match(res.stdout, /\r\[#{30}\] 100%|\r\[#+-*\] +9\d%/, 'the bar reaches the end')
      assert.doesNotMatch(res.stdout, /WEBVTT|-->/, 'the result reached the terminal')
      const vtt = fs.readFileSync(path.join(cwd, 'out.vtt'), 'utf8')
      assert.doesNotMatch(vtt, /\r|%/)
      const cues = parseVtt(vtt)
      assertCues(cues, durationOf(short.file))
      assert.ok(wordErrorRate(short.reference, cues.map((c) => c.text).join(' ')).wer < 0.6)
    })

    it('analyzes to --out DIR and prints the result as JSON', async () => {
      const out = path.join(tempDir(), 'analysis')
      const res = await run(['analyze', fixture('wav'), '--out', out])
      ok(res)
      const result = JSON.parse(res.stdout) as { durationSec: number, sampleRate: number, channels: number, loudness: { integratedLufs: number } }
      assert.ok(Math.abs(result.durationSec - 3) < 0.1, `duration ${result.durationSec}`)
      assert.equal(result.channels, 2)
      assert.equal(typeof result.loudness, 'object')
      assert.ok(Object.values(result.loudness).some((v) => typeof v === 'number' && Number.isFinite(v)), JSON.stringify(result.loudness))
      assert.deepEqual(fs.readdirSync(out).sort(), ['spectrogram.png', 'waveform.json', 'waveform.png'])
      for (const png of ['waveform.png', 'spectrogram.png']) assert.deepEqual(fs.readFileSync(path.join(out, png)).subarray(0, 8), PNG_MAGIC, png)
      const waveform = JSON.parse(fs.readFileSync(path.join(out, 'waveform.json'), 'utf8')) as Record<string, unknown>
      assert.ok(Object.keys(waveform).length > 0)
      assert.match(res.stderr, /%/)
    })
  })

  describe('refusals', { concurrency: 2 }, () => {
    it('a missing file, two files, an unknown format or option, an unknown engine or quality: a clear message, nothing run', async () => {
      const cwd = tempDir()
      const cases: [string[], RegExp][] = [
        [['transcribe', 'nope.wav', '--out', 'out.txt'], /nope\.wav: no such file/],
        [['analyze', 'nope.wav', '--out', 'dir'], /nope\.wav: no such file/],
        [['transcribe', short.file, other.file, '--out', 'out.txt'], /expected one FILE/],
        [['transcribe'], /expected one FILE/],
        [['transcribe', short.file, '--format', 'docx', '--out', 'out.txt'], /--format must be one of txt, srt, vtt, json/],
        [['transcribe', short.file, '--fromat', 'srt'], /Unknown option '--fromat'/],
        [['transcribe', short.file, '--format'], /--format.*argument|argument.*--format/i],
        [['transcribe', short.file, '--engine', 'deepspeech', '--out', 'out.txt'], /--engine must be one of pocketsphinx, whisper/],
        [['transcribe', short.file, '--quality', 'best', '--out', 'out.txt'], /--quality must be one of fast, accurate/],
        [['analyze', fixture('wav'), '--quality', 'fast', '--out', 'dir'], /analyze takes no --quality/],
        [['analyze', fixture('wav'), '--format', 'srt', '--out', 'dir'], /analyze.*--format/],
        [['transcribe', short.file, '--out', 'missing/dir/out.txt'], /missing\/dir/],
        [['transcribe', short.file, '--server', 'http://127.0.0.1:9'], /TYMPAN_API_KEY/]
      ]
      // All at once: each is a second of Node start-up and nothing more.
      const results = await Promise.all(cases.map(([args]) => run(args, {}, cwd)))
      cases.forEach(([args, message], i) => {
        const res = results[i]!
        refused(res, message)
        assert.ok(!/%\s+(decoding|uploading|probing)/.test(res.stderr), `${args.join(' ')} started work: ${res.stderr}`)
      })
      assert.deepEqual(fs.readdirSync(cwd), [], 'nothing was written')
    })

    it('a text file named .wav: refused before any engine runs, nothing written to --out', async () => {
      const cwd = tempDir()
      fs.copyFileSync(fixture('text'), path.join(cwd, 'notes.wav'))
      refused(await run(['transcribe', 'notes.wav', '--out', 'notes.txt'], {}, cwd), /notes\.wav is not an audio file/)
      refused(await run(['analyze', 'notes.wav', '--out', 'analysis'], {}, cwd), /notes\.wav is not an audio file/)
      assert.deepEqual(fs.readdirSync(cwd), ['notes.wav'])
    })

    it('Ctrl-C stops a local run: exit 1, "interrupted", no --out file', async () => {
      const cwd = tempDir()
      const res = await interrupt(['transcribe', long().file, '--out', 'out.txt'], {}, cwd, /recognising/)
      refused(res, /^tympan: interrupted$/m)
      assert.deepEqual(fs.readdirSync(cwd), [])
    })

    it('an engine that fails mid-run leaves an existing --out file as it was and no partial file', async () => {
      const cwd = tempDir()
      fs.writeFileSync(path.join(cwd, 'keep.txt'), 'the previous transcript\n')
      // Only the English model is installed: the engine refuses German after probing the file.
      refused(await run(['transcribe', short.file, '--language', 'de', '--out', 'keep.txt'], {}, cwd), /language "de" is not installed/)
      refused(await run(['transcribe', short.file, '--language', 'de', '--out', 'new.txt'], {}, cwd), /language "de" is not installed/)
      assert.deepEqual(fs.readdirSync(cwd), ['keep.txt'])
      assert.equal(fs.readFileSync(path.join(cwd, 'keep.txt'), 'utf8'), 'the previous transcript\n')
    })
  })

  describe('on a server (--server)', { concurrency: 2 }, () => {
    let t: TestApp
    let url: string
    let key: string

    before(async () => {
      t = await startApp('pglite', { WORKER_CONCURRENCY: '2' })
      key = await t.apiKey(await t.login((await t.createUser()).email), JOB_SCOPES)
      await t.app.listen({ host: '127.0.0.1', port: 0 })
      url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    })
    after(() => t.close())

    it('transcribes with the key from TYMPAN_API_KEY: the same text as a local run, and JSON to --out', async () => {
      const res = await run(['transcribe', short.file, '--server', url], { TYMPAN_API_KEY: key })
      ok(res)
      assertHeard(res.stdout, short.reference)
      assert.match(res.stderr, /uploading/)
      assert.match(res.stderr, /recognising/)
      assert.ok(!res.stderr.includes(key))

      const cwd = tempDir()
      const json = await run(['transcribe', short.file, '--server', `${url}/`, '--format', 'json', '--out', 'remote.json'], { TYMPAN_API_KEY: key }, cwd)
      ok(json)
      assert.equal(json.stdout, '')
      assert.deepEqual(fs.readdirSync(cwd), ['remote.json'])
      const transcript = JSON.parse(fs.readFileSync(path.join(cwd, 'remote.json'), 'utf8')) as { text: string }
      assert.equal(`${transcript.text}\n`, res.stdout)

      // One segment, one decoder, the same model: the server hears what this machine hears.
      const local = localText.get(short.id) ?? (await run(['transcribe', short.file])).stdout
      assert.equal(res.stdout, local)
    })

    it('analyzes, prints the result and downloads the artifacts to --out DIR', async () => {
      const out = path.join(tempDir(), 'remote-analysis')
      const res = await run(['analyze', fixture('wav'), '--server', url, '--out', out], { TYMPAN_API_KEY: key })
      ok(res)
      const result = JSON.parse(res.stdout) as { durationSec: number, loudness: object }
      assert.ok(Math.abs(result.durationSec - 3) < 0.1)
      assert.equal(typeof result.loudness, 'object')
      assert.deepEqual(fs.readdirSync(out).sort(), ['spectrogram.png', 'waveform.json', 'waveform.png'])
      assert.deepEqual(fs.readFileSync(path.join(out, 'waveform.png')).subarray(0, 8), PNG_MAGIC)
      // The upload served this job only: the CLI deletes it once the job has ended.
      const left = await t.testDb.db.kysely.selectFrom('files').select('id').where('name', '=', path.basename(fixture('wav'))).execute()
      assert.deepEqual(left, [])
    })

    it('a wrong key: exit 1, says 401, never echoes the key, writes nothing', async () => {
      const cwd = tempDir()
      const wrong = `tym_${'x'.repeat(40)}`
      const res = await run(['transcribe', short.file, '--server', url, '--out', 'out.txt'], { TYMPAN_API_KEY: wrong }, cwd)
      refused(res, /401/)
      assert.ok(!res.stderr.includes(wrong) && !res.stderr.includes('x'.repeat(20)), res.stderr)
      const viaFlag = await run(['analyze', fixture('wav'), '--server', url, '--key', wrong])
      refused(viaFlag, /401/)
      assert.ok(!viaFlag.stderr.includes(wrong))
      assert.deepEqual(fs.readdirSync(cwd), [])
    })

    it('a job the server refuses: its status and reason, exit 1, nothing written', async () => {
      const cwd = tempDir()
      const res = await run(['transcribe', short.file, '--server', url, '--language', 'de', '--out', 'out.txt'], { TYMPAN_API_KEY: key }, cwd)
      refused(res, /creating the job failed: 422 .*"de" is not installed/)
      assert.deepEqual(fs.readdirSync(cwd), [])
    })

    it('a server that is not listening: "cannot reach", exit 1', async () => {
      const port = await freePort()
      const res = await run(['transcribe', short.file, '--server', `http://127.0.0.1:${port}`], { TYMPAN_API_KEY: key })
      refused(res, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}`))
      assert.match(res.stderr, /ECONNREFUSED|refused/)
      assert.ok(!res.stderr.includes(key))
    })

    it('Ctrl-C cancels the job on the server and writes nothing', async () => {
      const cwd = tempDir()
      const res = await interrupt(['transcribe', long().file, '--server', url, '--out', 'out.txt'], { TYMPAN_API_KEY: key }, cwd, /recognising/)
      refused(res, /interrupted: job \S+ was canceled on the server/)
      const jobId = /job (\S+) was canceled/.exec(res.stderr)![1]!
      const job = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${jobId}`, headers: { 'x-api-key': key } })
      assert.equal(job.json().status, 'canceled')
      assert.deepEqual(fs.readdirSync(cwd), [])
    })

    it('a URL that is not http(s): refused before anything is sent', async () => {
      refused(await run(['analyze', fixture('wav'), '--server', 'ftp://example.test'], { TYMPAN_API_KEY: key }), /--server/)
    })
  })
})

describe('tympan doctor', () => {
  it('fails without ffmpeg, naming the package, while pocketsphinx still reports its version and languages', async () => {
    // A PATH with only what the doctor needs besides ffmpeg: node, pocketsphinx, dpkg-query.
    const bin = tempDir()
    for (const tool of [process.execPath, '/usr/bin/pocketsphinx_batch', '/usr/bin/dpkg-query']) fs.symlinkSync(tool, path.join(bin, path.basename(tool)))
    const res = await new Promise<Result>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'src', 'main.ts'), 'doctor'], {
        cwd: tempDir(), env: { ...env(), PATH: bin, TYMPAN_DATA_DIR: tempDir() }, stdio: ['ignore', 'pipe', 'pipe']
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
      child.on('error', reject)
      child.on('close', (code) => { resolve({ code, stdout, stderr, ms: 0 }) })
    })
    assert.equal(res.code, 1, res.stdout + res.stderr)
    assert.match(res.stdout, /^FAIL\s+analyze missing: install the Debian package ffmpeg$/m)
    assert.match(res.stdout, /^ok\s+pocketsphinx: pocketsphinx \d\S*, languages (\S+ )*en\b/m)
    // whisper is optional: not configured is a warning, and only ffmpeg failed.
    assert.match(res.stdout, /^warn\s+whisper not configured/m)
    assert.equal(res.stdout.match(/^FAIL/gm)?.length, 1, res.stdout)
  })
})

describe('progress reporter', () => {
  const sink = (isTTY: boolean) => {
    const writes: string[] = []
    const stream = { isTTY, columns: 60, write: (s: string) => { writes.push(s); return true } } as unknown as NodeJS.WriteStream
    return { writes, stream }
  }

  it('redraws one line on a terminal and ends it', () => {
    const { writes, stream } = sink(true)
    const progress = progressReporter(stream)
    progress.update(0, 'decoding')
    progress.update(0.5, 'recognising 1/2')
    progress.done()
    assert.ok(writes.slice(0, 2).every((w) => w.startsWith('\r') && !w.includes('\n') && w.length <= 60), JSON.stringify(writes))
    assert.match(writes[1]!, /\[#{15}-{15}\]\s+50%\s+recognising 1\/2/)
    assert.equal(writes.at(-1), '\n')
  })

  it('prints a line per stage and tenth elsewhere, and nothing at done', () => {
    const { writes, stream } = sink(false)
    const progress = progressReporter(stream)
    for (let i = 0; i <= 100; i++) progress.update(i / 100, 'recognising')
    progress.done()
    assert.equal(writes.length, 11)
    assert.equal(writes[0], '  0%  recognising\n')
    assert.equal(writes.at(-1), '100%  recognising\n')
  })

  it('a terminal bar that never started draws nothing at done', () => {
    const { writes, stream } = sink(true)
    progressReporter(stream).done()
    assert.deepEqual(writes, [])
  })
})
