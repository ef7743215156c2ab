import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { PASSWORD, startApp, type TestApp } from './helpers/app.ts'
import { LIBRIVOX_DIR, librivoxMissing } from './helpers/librivox.ts'

// The web UI in Debian's Chromium, against a real listening app that serves web/dist: the
// flows of issue 13's "Show" list, a record of console errors and CSP violations (none may
// occur), an axe-core scan of every page, and screenshots at desktop and phone width.

const CHROMIUM = '/usr/bin/chromium'
const ROOT = path.resolve(import.meta.dirname, '..')
const WEB = path.join(ROOT, 'web')
const AXE = path.join(WEB, 'node_modules/axe-core/axe.min.js')
const UTTERANCE = path.join(LIBRIVOX_DIR, 'sense_and_sensibility_01_austen_64kb-0880.wav')
const SHOTS = process.env.WEB_E2E_SCREENSHOTS ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-web-e2e-'))
const DESKTOP = { width: 1280, height: 800 }
const PHONE = { width: 390, height: 844 }

const missing = !fs.existsSync(CHROMIUM) ? `Debian chromium is not installed (${CHROMIUM}); scripts/test installs it` : librivoxMissing()
// Outside CI a machine without the browser skips with the reason; in CI that is a failure.
const skip = missing && !process.env.CI ? missing : false

/** Builds web/dist when set-up has not (scripts/test does: tympan_ensure_web). */
function ensureBuilt () {
  if (fs.existsSync(path.join(WEB, 'dist/index.html'))) return
  assert.ok(fs.existsSync(path.join(WEB, 'node_modules')), 'web/node_modules is missing: run scripts/test (or npm ci in web/)')
  execFileSync('npm', ['run', 'build'], { cwd: WEB, stdio: 'inherit' })
}

interface Watch {
  problems: string[]
  /** HTTP statuses the current step provokes on purpose; Chromium logs each as a console error. */
  expected: Set<number>
  /** Network failures the current step provokes on purpose (`ERR_INTERNET_DISCONNECTED`). */
  netErrors: Set<string>
}

const watches = new WeakMap<Page, Watch>()

/** Records console errors, uncaught exceptions and CSP violations of a page. */
async function watched (context: BrowserContext): Promise<Page> {
  const page = await context.newPage()
  const watch: Watch = { problems: [], expected: new Set(), netErrors: new Set() }
  watches.set(page, watch)
  page.on('console', (message) => {
    if (message.type() !== 'error' && !message.text().startsWith('CSP violation')) return
    const status = /the server responded with a status of (\d{3})/.exec(message.text())?.[1]
    if (status && watch.expected.has(Number(status))) return
    const netError = /net::(ERR_[A-Z_]+)/.exec(message.text())?.[1]
    if (netError && watch.netErrors.has(netError)) return
    watch.problems.push(`${page.url()}: ${message.text()}`)
  })
  page.on('pageerror', (error) => watch.problems.push(`${page.url()}: uncaught ${error.message}`))
  // Page-side code is passed as text: this file is type-checked without the DOM library.
  await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => {
    console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI + ' (' + e.sourceFile + ':' + e.lineNumber + ')')
  })`)
  return page
}

function expectStatuses (page: Page, ...statuses: number[]) {
  const watch = watches.get(page)!
  watch.expected = new Set(statuses)
}

function expectNetError (page: Page, name: string) {
  watches.get(page)!.netErrors.add(name)
}

function assertClean (page: Page) {
  const watch = watches.get(page)!
  assert.deepEqual(watch.problems, [], 'no console error and no CSP violation')
  watch.expected = new Set()
  watch.netErrors = new Set()
}

const axeSource = fs.existsSync(AXE) ? fs.readFileSync(AXE, 'utf8') : ''

/**
 * axe-core is evaluated through the DevTools protocol, which the page's CSP does not govern
 * (an injected <script> would be blocked, as it should be), then scans the page. `preload:
 * false`: axe would copy every <style> it finds (wavesurfer's, in its shadow DOM) into a new
 * one without the nonce, and the CSP would rightly block that copy.
 */
async function axeScan (page: Page, name: string) {
  await page.evaluate(axeSource)
  const violations = await page.evaluate(`axe.run(document, { resultTypes: ['violations'], preload: false }).then((result) =>
    result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) })))`) as Array<{ id: string, impact: string, help: string, targets: string[] }>
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  assert.deepEqual(serious, [], `axe: no serious or critical violations on ${name}`)
}

/** Scans the page, then saves it at desktop and at phone width (the same markup: one scan). */
async function capture (page: Page, name: string) {
  await page.waitForLoadState('networkidle')
  await axeScan(page, name)
  await page.screenshot({ path: path.join(SHOTS, `${name}-desktop.png`), fullPage: true })
  await page.setViewportSize(PHONE)
  await page.waitForTimeout(150)
  await page.screenshot({ path: path.join(SHOTS, `${name}-phone.png`), fullPage: true })
  await page.setViewportSize(DESKTOP)
}

/**
 * Waits until the (first) player knows its audio's length. Polled from here: waitForFunction
 * compiles its predicate in the page, which the page's CSP (no 'unsafe-eval') refuses.
 */
async function playerLoaded (page: Page) {
  const time = page.getByTestId('player-time').first()
  await time.waitFor()
  for (let i = 0; i < 200 && (await time.textContent())?.endsWith('/ 0:00.0'); i++) await page.waitForTimeout(100)
  assert.ok(!(await time.textContent())?.endsWith('/ 0:00.0'), 'the player loaded its audio')
}

const navLink = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true })

async function signIn (page: Page, base: string, email: string, password = PASSWORD) {
  await page.goto(`${base}/`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

/** A page elsewhere that posts a form to the API with the victim's browser. */
function attackerSite (target: string): Promise<http.Server> {
  const html = `<!doctype html><title>Win a prize</title>
<form id="f" method="post" action="${target}/api/v1/keys" enctype="text/plain">
<input name='{"name":"stolen","scopes":["files:read"],"x":"' value='"}'>
</form><script>document.getElementById('f').submit()</script>`
  const server = http.createServer((_request, response) => { response.setHeader('content-type', 'text/html'); response.end(html) })
  return new Promise((resolve) => server.listen(0, 'localhost', () => resolve(server)))
}

describe('web UI in Chromium', { skip, timeout: 180_000 }, () => {
  let t: TestApp
  let big: TestApp
  let base: string
  let browser: Browser
  let member: { email: string }
  let admin: { email: string }

  before(async () => {
    if (missing) throw new Error(missing)
    ensureBuilt()
    fs.mkdirSync(SHOTS, { recursive: true })
    // 1 MB uploads at most: the over-size refusal needs no large file.
    // The large upload's own app starts meanwhile: the first caps uploads at 1 MB, below the resumable size.
    ;[t, big] = await Promise.all([
      startApp('pglite', { WORKER_CONCURRENCY: '1', MAX_FILE_SIZE_MB: '1' }),
      startApp('pglite', { WORKER_CONCURRENCY: '0', MAX_FILE_SIZE_MB: '20' })
    ])
    member = await t.createUser('member')
    admin = await t.createUser('admin')
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Playwright gives every launch a fresh --user-data-dir of its own.
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    console.log(`# screenshots: ${SHOTS}`)
  })
  after(async () => {
    await browser?.close()
    await t?.close()
    await big?.close()
  })

  describe('a member', () => {
    let context: BrowserContext
    let page: Page
    before(async () => {
      context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true })
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
      page = await watched(context)
    })
    after(() => context.close())

    it('is refused with a wrong password, then signs in; no token lands in storage', async () => {
      await page.goto(`${base}/`)
      await page.getByRole('heading', { name: 'Sign in' }).waitFor()
      await capture(page, 'sign-in')
      expectStatuses(page, 401)
      await signIn(page, base, member.email, 'not the password at all')
      await page.getByRole('alert').filter({ hasText: 'Invalid email or password' }).waitFor()
      assertClean(page)
      await signIn(page, base, member.email)
      await page.getByRole('heading', { name: 'Files', level: 1 }).waitFor()
      assert.deepEqual(await page.evaluate('[localStorage.length, sessionStorage.length]'), [0, 0])
      const access = (await context.cookies()).find((c) => c.name === 'tympan_access')
      assert.equal(access?.httpOnly, true, 'the session cookie is out of the reach of scripts')
      assertClean(page)
    })

    it('uploads a LibriVox utterance, transcribes it, clicks a word to seek and downloads the SRT', async () => {
      await page.locator('#upload-input').setInputFiles(UTTERANCE)
      await page.getByText('Uploaded ·').waitFor()
      await page.getByRole('link', { name: path.basename(UTTERANCE) }).waitFor()
      await capture(page, 'files')

      await page.getByRole('link', { name: 'Open' }).click()
      await page.getByRole('heading', { name: path.basename(UTTERANCE), level: 1 }).waitFor()
      await page.getByRole('radio', { name: /transcribe/ }).check()
      await page.waitForLoadState('networkidle')
      await capture(page, 'file')
      await page.getByRole('button', { name: 'Start transcribe' }).click()

      await page.getByRole('heading', { name: 'Transcribe job', level: 1 }).waitFor()
      await page.getByRole('heading', { name: 'Transcript' }).waitFor({ timeout: 60_000 })
      const words = page.locator('button.word')
      assert.ok(await words.count() >= 5, 'the transcript has its words')
      await playerLoaded(page)

      const word = words.nth(3)
      const span = await word.getAttribute('title')
      await word.click()
      await assert.doesNotReject(word.and(page.locator('[aria-current="true"]')).waitFor())
      // The player moved to the word's start (the title says start–end).
      assert.equal((await page.getByTestId('player-time').textContent())?.split(' / ')[0]?.replace('Position ', ''), span?.split('–')[0])
      await capture(page, 'transcript')
      // The dark theme follows the system: the same page, scanned (contrast) and saved in it.
      await page.emulateMedia({ colorScheme: 'dark' })
      await page.reload()
      await page.getByRole('heading', { name: 'Transcript' }).waitFor()
      await capture(page, 'transcript-dark')
      await page.emulateMedia({ colorScheme: 'light' })

      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'SRT' }).click()])
      assert.equal(download.suggestedFilename(), 'transcript.srt')
      const srt = fs.readFileSync((await download.path())!, 'utf8')
      assert.match(srt, /^1\r?\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}/)

      // The file's page lists the jobs started on it (GET /api/v1/jobs?fileId=).
      await page.getByRole('link', { name: path.basename(UTTERANCE) }).click()
      const fileJobs = page.getByRole('region', { name: 'Jobs on this file' })
      await fileJobs.getByRole('link', { name: /^transcribe job/ }).waitFor()
      await fileJobs.getByText('succeeded').waitFor()
      await capture(page, 'file-jobs')
      assertClean(page)
    })

    it('shows the server\'s own reason for an over-size upload (the 413)', async () => {
      await navLink(page, 'Files').click()
      expectStatuses(page, 413)
      await page.locator('#upload-input').setInputFiles({ name: 'too-big.wav', mimeType: 'audio/wav', buffer: Buffer.alloc(1.5 * 1024 * 1024, 1) })
      await page.getByRole('alert').filter({ hasText: 'Refused: The file exceeds the 1 MB limit' }).waitFor()
      assertClean(page)
    })

    it('lists jobs with filters', async () => {
      await navLink(page, 'Jobs').click()
      await page.getByRole('link', { name: 'transcribe' }).first().waitFor()
      await page.getByLabel('Status').selectOption('failed')
      await page.getByText('No job matches these filters.').waitFor()
      await page.getByLabel('Status').selectOption('')
      await page.getByRole('link', { name: 'transcribe' }).first().waitFor()
      await capture(page, 'jobs')
      assertClean(page)
    })

    it('creates an API key, shown once with a copy button, and revokes it', async () => {
      await navLink(page, 'Account').click()
      await page.getByLabel('Name').fill('e2e script')
      await page.getByRole('button', { name: 'Create key' }).click()
      const secret = await page.getByLabel('The new API key').inputValue()
      assert.match(secret, /^tym_[0-9a-f]{12}_/)
      await page.getByRole('button', { name: 'Copy' }).click()
      await page.getByRole('button', { name: 'Copied' }).waitFor()
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), secret)
      await capture(page, 'account')
      await page.getByRole('button', { name: 'I have saved it' }).click()

      page.once('dialog', (dialog) => { void dialog.accept() })
      await page.getByRole('button', { name: 'Revoke e2e script' }).click()
      await page.getByText('The key “e2e script” was revoked.').waitFor()
      const answer = await fetch(`${base}/api/v1/me`, { headers: { 'x-api-key': secret } })
      assert.equal(answer.status, 401, 'the revoked key no longer works')
      assertClean(page)
    })

    it('translates an English sentence to Spanish, side by side, and shows the server\'s reasons', async () => {
      await navLink(page, 'Translate').click()
      await page.getByRole('heading', { name: 'Translate text', level: 1 }).waitFor()
      await page.getByLabel('From', { exact: true }).selectOption('en')
      await page.getByLabel('To', { exact: true }).selectOption('es')
      await page.getByText('A direct pair: English → Spanish.').waitFor()
      // A route through a pivot is offered and named as one.
      await page.getByLabel('From', { exact: true }).selectOption('fr')
      assert.match(await page.getByLabel('To', { exact: true }).locator('option[value="en"]').textContent() ?? '', /English \(en\) — via Spanish/)
      await page.getByLabel('From', { exact: true }).selectOption('en')
      await page.getByLabel('To', { exact: true }).selectOption('es')

      expectStatuses(page, 422)
      await page.getByLabel('Text', { exact: true }).fill('x'.repeat(5003))
      await page.getByText('5,003 / 5,000 characters — 3 over the limit').waitFor()
      await page.getByRole('button', { name: 'Translate', exact: true }).click()
      await page.getByRole('alert').filter({ hasText: 'text is 5003 characters long after trimming; the limit is 5000' }).waitFor()
      assert.equal(await page.getByLabel('Text', { exact: true }).getAttribute('aria-invalid'), 'true')

      await page.getByLabel('Text', { exact: true }).fill('The weather is very nice today.')
      await page.getByRole('button', { name: 'Translate', exact: true }).click()
      await page.getByRole('heading', { name: 'Translation', level: 2 }).waitFor()
      assert.equal(await page.getByTestId('translation').textContent(), 'El tiempo es muy bueno hoy.')
      await page.locator('p.translation-text').filter({ hasText: 'The weather is very nice today.' }).waitFor()
      await page.getByText('route English → Spanish').waitFor()
      await capture(page, 'translate')
      assertClean(page)
    })

    it('speaks a text with a chosen voice and speed, then plays it', async () => {
      await navLink(page, 'Speak').click()
      await page.getByRole('heading', { name: 'Text to speech' }).waitFor()
      await page.getByLabel('Text', { exact: true }).fill('Hello from Tympan. This sentence was spoken by a machine.')
      await page.getByLabel('Voice').selectOption('flite:slt')
      await page.getByLabel(/^Speed/).fill('1.25')
      await page.getByLabel('Format').selectOption('wav')
      await capture(page, 'speak')
      await page.getByRole('button', { name: 'Speak', exact: true }).click()
      await page.getByRole('heading', { name: 'Speak job', level: 1 }).waitFor()
      await page.getByRole('heading', { name: 'Speech', level: 2 }).waitFor({ timeout: 60_000 })
      await playerLoaded(page)
      await page.locator('blockquote').filter({ hasText: 'This sentence was spoken by a machine.' }).waitFor()
      await page.getByRole('definition').getByText('flite:slt', { exact: true }).waitFor()
      await page.getByRole('definition').getByText('1.25×', { exact: true }).waitFor()
      const href = await page.getByRole('link', { name: /^Download WAV/ }).getAttribute('href')
      const wav = await page.evaluate(`fetch(${JSON.stringify(href)}).then((r) => r.arrayBuffer()).then((b) => new TextDecoder().decode(new Uint8Array(b).slice(0, 4)))`)
      assert.equal(wav, 'RIFF')
      await capture(page, 'speech')
      assertClean(page)
    })

    it('composes music from a prompt, length and seed, then plays it and explains the composition', async () => {
      await navLink(page, 'Music').click()
      await page.getByRole('heading', { name: 'Compose a piece' }).waitFor()
      await page.getByRole('button', { name: 'calm lo-fi piano at 80 bpm' }).click()
      assert.equal(await page.getByLabel('Describe it').inputValue(), 'calm lo-fi piano at 80 bpm')
      await page.getByLabel('Length in seconds').fill('8')
      await page.getByRole('button', { name: 'New seed' }).click()
      assert.match(await page.getByLabel('Seed', { exact: true }).inputValue(), /^\d+$/)
      await page.getByLabel('Seed', { exact: true }).fill('42')
      await capture(page, 'music')
      await page.getByRole('button', { name: 'Compose' }).click()
      await page.getByRole('heading', { name: 'Generate job', level: 1 }).waitFor()
      await page.getByRole('heading', { name: 'Music', level: 2 }).waitFor({ timeout: 60_000 })
      await playerLoaded(page)
      await page.getByText('“calm lo-fi piano at 80 bpm”').waitFor()
      await page.getByRole('definition').filter({ hasText: '80 BPM' }).waitFor()
      await page.getByRole('definition').filter({ hasText: /^42/ }).waitFor()
      await page.getByRole('table', { name: 'Form' }).waitFor()
      await page.getByRole('heading', { name: 'Instruments' }).waitFor()
      for (const name of ['MIDI', 'composition.json']) await page.getByRole('link', { name: new RegExp(`^${name}`) }).waitFor()
      await capture(page, 'music-result')
      await page.emulateMedia({ colorScheme: 'dark' })
      await capture(page, 'music-result-dark')
      await page.emulateMedia({ colorScheme: 'light' })
      assertClean(page)
    })

    it('separates a song into stems and mixes them: play together, mute, solo, download each', async () => {
      // 4 s of stereo: a centred tone (the "voice"), a low one, and clicks on one side.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-web-e2e-song-'))
      const song = path.join(dir, 'little-song.wav')
      execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', "aevalsrc='0.3*sin(2*PI*440*t)+0.3*sin(2*PI*55*t)+0.4*lt(mod(t,0.5),0.01)|0.3*sin(2*PI*440*t)+0.3*sin(2*PI*55*t)':d=4:s=44100", song])
      try {
        await navLink(page, 'Files').click()
        await page.locator('#upload-input').setInputFiles(song)
        await page.getByRole('link', { name: 'little-song.wav' }).click()
        await page.getByRole('heading', { name: 'little-song.wav', level: 1 }).waitFor()
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
      await page.getByRole('radio', { name: /separate/ }).check()
      await page.getByLabel('Stems').selectOption('4')
      await page.getByRole('button', { name: 'Start separate' }).click()
      await page.getByRole('heading', { name: 'Separate job', level: 1 }).waitFor()
      const mixer = page.getByRole('group', { name: 'Stems mixer' })
      await mixer.waitFor({ timeout: 60_000 })
      const stems = ['vocals', 'drums', 'bass', 'other']
      assert.deepEqual(await mixer.getByRole('heading', { level: 3 }).allTextContents(), stems.map((s) => `${s}.wav`))
      const stem = (name: string) => mixer.locator('.stem').filter({ has: page.getByRole('heading', { name: `${name}.wav` }) })

      await mixer.getByRole('button', { name: 'Play all' }).click()
      await mixer.getByRole('button', { name: 'Pause all' }).waitFor()
      await stem('drums').getByRole('button', { name: 'Mute' }).click()
      assert.equal(await stem('drums').getByRole('button', { name: 'Mute' }).getAttribute('aria-pressed'), 'true')
      await stem('drums').getByText('silent', { exact: true }).waitFor()
      await stem('vocals').getByRole('button', { name: 'Solo' }).click()
      for (const name of stems) await stem(name).getByText(name === 'vocals' ? 'audible' : 'silent', { exact: true }).waitFor()
      await stem('vocals').getByRole('button', { name: 'Solo' }).click()
      for (const name of stems) await stem(name).getByText(name === 'drums' ? 'silent' : 'audible', { exact: true }).waitFor()
      await mixer.getByRole('button', { name: 'Pause all' }).click()

      const [download] = await Promise.all([page.waitForEvent('download'), stem('bass').getByRole('link', { name: 'Download bass.wav' }).click()])
      assert.equal(download.suggestedFilename(), 'bass.wav')
      assert.equal(fs.readFileSync((await download.path())!).subarray(0, 4).toString(), 'RIFF')
      await capture(page, 'stems')
      assertClean(page)
    })

    it('translates the utterance\'s speech into Spanish: segments side by side, subtitles, the spoken translation', async () => {
      await navLink(page, 'Files').click()
      await page.getByRole('link', { name: path.basename(UTTERANCE) }).click()
      await page.getByRole('radio', { name: /^translate/ }).check()
      // The language and voice fields are pickers of what the server has installed.
      await page.getByLabel('Source lang').selectOption('en')
      await page.getByLabel('Target lang (required)').selectOption('es')
      await page.getByLabel('Speak', { exact: true }).check()
      assert.ok(await page.getByLabel('Voice').locator('optgroup[label="Spanish"]').count() === 1, 'the voices of the target language')
      await page.getByRole('button', { name: 'Start translate' }).click()
      await page.getByRole('heading', { name: 'Translate job', level: 1 }).waitFor()
      const view = page.getByRole('region', { name: 'Translation' })
      await view.getByRole('table').waitFor({ timeout: 90_000 })
      const rows = view.getByRole('table').locator('tbody tr')
      assert.ok(await rows.count() >= 1, 'at least one segment')
      const [english, spanish] = await Promise.all([rows.first().locator('td').nth(1).textContent(), rows.first().locator('td').nth(2).textContent()])
      assert.ok(english && spanish && english !== spanish, `a segment and its translation: ${english} / ${spanish}`)
      await view.getByRole('heading', { name: 'Spoken in Spanish' }).waitFor()
      for (const time of await page.getByTestId('player-time').all()) {
        for (let i = 0; i < 100 && (await time.textContent())?.endsWith('/ 0:00.0'); i++) await page.waitForTimeout(100)
        assert.ok(!(await time.textContent())?.endsWith('/ 0:00.0'), 'each player loaded its audio')
      }
      const [download] = await Promise.all([page.waitForEvent('download'), view.getByRole('link', { name: 'SRT (translation.srt)' }).click()])
      assert.equal(download.suggestedFilename(), 'translation.srt')
      assert.match(fs.readFileSync((await download.path())!, 'utf8'), /^1\r?\n00:00:\d\d,\d{3} --> /)
      await view.getByRole('link', { name: 'SRT (source.srt)' }).waitFor()
      await capture(page, 'speech-translation')
      assertClean(page)
    })

    it('cannot open the admin pages', async () => {
      assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).count(), 0)
      await page.goto(`${base}/admin/audit`)
      await page.getByText('These pages are for administrators.').waitFor()
      await capture(page, 'admin-refused')
      assertClean(page)
    })

    it('is not fooled by a cross-site form post', async () => {
      const attacker = await attackerSite(base)
      try {
        const evil = await context.newPage()
        const [response] = await Promise.all([
          evil.waitForResponse((r) => r.url() === `${base}/api/v1/keys` && r.request().method() === 'POST'),
          evil.goto(`http://localhost:${(attacker.address() as AddressInfo).port}/`)
        ])
        assert.ok(response.status() === 401 || response.status() === 415, `refused (${response.status()})`)
        await evil.close()
      } finally {
        attacker.close()
      }
      const keys = await page.evaluate(`fetch('/api/v1/keys').then((r) => r.json())`) as { items: Array<{ name: string }> }
      assert.deepEqual(keys.items.filter((k) => k.name === 'stolen'), [])
    })
  })

  describe('an admin', () => {
    let context: BrowserContext
    let page: Page
    before(async () => {
      context = await browser.newContext({ viewport: DESKTOP })
      page = await watched(context)
    })
    after(() => context.close())

    it('finds the failed sign-in of the wrong password in the audit log', async () => {
      await signIn(page, base, admin.email)
      await navLink(page, 'Admin').click()
      await page.getByRole('cell', { name: member.email, exact: true }).waitFor()
      await capture(page, 'admin-users')
      await page.getByRole('link', { name: 'Audit log' }).click()
      await page.getByLabel('Action').fill('auth.login.failure')
      await page.getByRole('button', { name: 'Apply filters' }).click()
      await page.getByRole('cell', { name: new RegExp(`email: ${member.email.replaceAll('.', '\\.')}`) }).waitFor()
      await capture(page, 'admin-audit')
      await page.getByRole('link', { name: 'Engines' }).click()
      await page.getByRole('cell', { name: 'pocketsphinx' }).first().waitFor()
      await capture(page, 'admin-engines')
      await page.getByRole('link', { name: 'Queue' }).click()
      await page.getByRole('cell', { name: 'transcribe' }).waitFor()
      await capture(page, 'admin-queue')
      assertClean(page)
    })

    it('adds a user with a one-time password, who must choose their own, then downloads and erases their data', async () => {
      const email = `newcomer-${Date.now()}@example.com`
      const oneTime = 'a one-time passphrase from the admin'
      await navLink(page, 'Admin').click()
      await page.getByText('Add a user').click()
      await page.getByLabel('Email', { exact: true }).fill(email)
      await page.getByLabel('One-time password').fill(oneTime)
      await page.getByRole('button', { name: 'Add user' }).click()
      await page.getByText(`${email} was created.`).waitFor()

      const own = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true })
      try {
        const newcomer = await watched(own)
        await signIn(newcomer, base, email, oneTime)
        await newcomer.getByRole('heading', { name: 'Choose your own password', level: 1 }).waitFor()
        await capture(newcomer, 'password-forced')
        // Until then the API refuses the rest (403 password_change_required), and the app stays on the form.
        expectStatuses(newcomer, 403, 422)
        await newcomer.goto(`${base}/files`)
        await newcomer.getByRole('heading', { name: 'Choose your own password', level: 1 }).waitFor()
        const fill = async (next: string) => {
          await newcomer.getByLabel('Current password').fill(oneTime)
          await newcomer.getByLabel('New password', { exact: true }).fill(next)
          await newcomer.getByLabel('New password again').fill(next)
          await newcomer.getByRole('button', { name: 'Change password' }).click()
        }
        await fill('short')
        await newcomer.getByRole('alert').filter({ hasText: 'at least 12' }).waitFor()
        await fill(PASSWORD)
        await newcomer.getByRole('heading', { name: 'Your files' }).waitFor()
        assertClean(newcomer)

        await navLink(newcomer, 'Account').click()
        const [download] = await Promise.all([newcomer.waitForEvent('download'), newcomer.getByRole('link', { name: 'Download my data' }).click()])
        assert.equal(download.suggestedFilename(), 'tympan-export.json')
        const exported = JSON.parse(fs.readFileSync((await download.path())!, 'utf8')) as { user: { email: string } }
        assert.equal(exported.user.email, email)

        expectStatuses(newcomer, 422)
        newcomer.on('dialog', (dialog) => { void dialog.accept() })
        await newcomer.getByLabel('Your current password').fill('not my password at all')
        await newcomer.getByRole('button', { name: 'Erase my account' }).click()
        await newcomer.getByRole('alert').filter({ hasText: /password/i }).waitFor()
        await newcomer.getByLabel('Your current password').fill(PASSWORD)
        await newcomer.getByRole('button', { name: 'Erase my account' }).click()
        await newcomer.getByText('Your account and all its data were erased.').waitFor()
        assertClean(newcomer)
      } finally {
        await own.close()
      }
      expectStatuses(page, 401)
      const login = await page.evaluate(`fetch('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ${JSON.stringify(email)}, password: ${JSON.stringify(PASSWORD)} }) }).then((r) => r.status)`)
      assert.equal(login, 401, 'the erased account cannot sign in')
      assertClean(page)
    })

    it('keeps working when the access token expires (silent refresh), and says so when the session is gone', async () => {
      // The first answer to each call is a 401; the second is a refresh without a refresh cookie (400).
      expectStatuses(page, 401, 400)
      await context.clearCookies({ name: 'tympan_access' })
      await navLink(page, 'Files').click()
      await page.getByRole('heading', { name: 'Your files' }).waitFor()
      await page.getByText('No files yet.').waitFor()
      await context.clearCookies({ name: 'tympan_access' })
      await context.clearCookies({ name: 'tympan_refresh' })
      await navLink(page, 'Jobs').click()
      await page.getByText('Your session has ended. Sign in again to continue.').waitFor()
      assertClean(page)
    })

    it('opens the API docs under the strict CSP', async () => {
      await page.goto(`${base}/docs`)
      await page.locator('.swagger-ui .info .title').waitFor()
      assertClean(page)
    })
  })
  describe('a large upload', () => {
    let bigBase: string
    let context: BrowserContext
    let page: Page
    let wav: string
    before(async () => {
      const user = await big.createUser('member')
      await big.app.listen({ host: '127.0.0.1', port: 0 })
      bigBase = `http://127.0.0.1:${(big.app.server.address() as AddressInfo).port}`
      // 50 s of stereo CD audio: 8.8 MB, over the 8 MB from which the app uploads with tus (3 chunks of 4 MB).
      wav = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-web-e2e-big-')), 'long-take.wav')
      execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=50', '-ac', '2', '-ar', '44100', wav])
      context = await browser.newContext({ viewport: DESKTOP })
      page = await watched(context)
      await signIn(page, bigBase, user.email)
      await page.getByRole('heading', { name: 'Your files' }).waitFor()
    })
    after(async () => {
      await context?.close()
      if (wav) fs.rmSync(path.dirname(wav), { recursive: true, force: true })
    })

    it('goes over tus and resumes where it stopped after a reload', async () => {
      const requests: string[] = []
      page.on('request', (request) => {
        const url = new URL(request.url())
        if (url.pathname.startsWith('/api/v1/uploads')) requests.push(`${request.method()} ${url.pathname}`)
      })
      // The first chunk goes through; the second meets a dropped connection (tus asks for the
      // offset and sends it again), and that retry is held, as on a stalled network, while the
      // page reloads.
      let patches = 0
      let held: () => void = () => {}
      const holding = new Promise<void>((resolve) => { held = resolve })
      await page.route('**/api/v1/uploads/*', async (route) => {
        if (route.request().method() === 'PATCH') {
          patches++
          if (patches === 2) { await route.abort('internetdisconnected'); return }
          if (patches === 3) { held(); return }
        }
        await route.continue()
      })
      expectNetError(page, 'ERR_INTERNET_DISCONNECTED')
      await page.locator('#upload-input').setInputFiles(wav)
      await page.getByText('Resumable upload').waitFor()
      await page.getByText(/Connection lost; retrying…|Reconnected/).waitFor()
      await holding
      assert.deepEqual(requests.slice(-2), [`HEAD ${requests[1]!.slice('PATCH '.length)}`, `PATCH ${requests[1]!.slice('PATCH '.length)}`], 'the retry asked for the offset first')
      const created = requests.filter((r) => r.startsWith('POST'))
      assert.equal(created.length, 1)
      const uploadPath = requests.find((r) => r.startsWith('PATCH'))!.slice('PATCH '.length)

      // The held chunk dies with the page (a route that is never answered is never sent).
      await page.reload()
      await page.getByRole('heading', { name: 'Your files' }).waitFor()
      requests.length = 0
      await page.locator('#upload-input').setInputFiles(wav)
      await page.getByText('Resuming the earlier upload of this file').waitFor()
      await page.getByText('Uploaded, resumed where the earlier attempt stopped ·').waitFor({ timeout: 30_000 })
      await page.getByRole('link', { name: 'long-take.wav' }).waitFor()
      // No second upload was created: the same one was asked for its offset, then continued.
      assert.deepEqual(requests.filter((r) => r.startsWith('POST')), [])
      assert.equal(requests[0], `HEAD ${uploadPath}`)
      assert.equal(requests.filter((r) => r.startsWith('PATCH')).length, 2, 'the two chunks still missing, not three')
      const files = await page.evaluate(`fetch('/api/v1/files').then((r) => r.json())`) as { items: Array<{ name: string, size: number }> }
      assert.deepEqual(files.items.map((f) => [f.name, f.size]), [['long-take.wav', fs.statSync(wav).size]])
      await capture(page, 'upload-resumed')
      assertClean(page)
    })
  })
})
