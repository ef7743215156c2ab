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
}

const watches = new WeakMap<Page, Watch>()

/** Records console errors, uncaught exceptions and CSP violations of a page. */
async function watched (context: BrowserContext): Promise<Page> {
  const page = await context.newPage()
  const watch: Watch = { problems: [], expected: new Set() }
  watches.set(page, watch)
  page.on('console', (message) => {
    if (message.type() !== 'error' && !message.text().startsWith('CSP violation')) return
    const status = /the server responded with a status of (\d{3})/.exec(message.text())?.[1]
    if (status && watch.expected.has(Number(status))) return
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

function assertClean (page: Page) {
  const watch = watches.get(page)!
  assert.deepEqual(watch.problems, [], 'no console error and no CSP violation')
  watch.expected = new Set()
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
  let base: string
  let browser: Browser
  let member: { email: string }
  let admin: { email: string }

  before(async () => {
    if (missing) throw new Error(missing)
    ensureBuilt()
    fs.mkdirSync(SHOTS, { recursive: true })
    // 1 MB uploads at most: the over-size refusal needs no large file.
    t = await startApp('pglite', { WORKER_CONCURRENCY: '1', MAX_FILE_SIZE_MB: '1' })
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
      await page.waitForFunction(`!document.querySelector('[data-testid="player-time"]').textContent.endsWith('/ 0:00.0')`)

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
})
