import assert from 'node:assert/strict'
import { existsSync, mkdtempSync } from 'node:fs'
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { localFileStores } from '../../../storage/local-storage.ts'
import { ImportError } from './import-error.ts'
import { buildYtDlpArgs, hostListed, mediaDownloader } from './media-downloader.ts'

const rejectsWith = (code: string, message?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ImportError, `expected ImportError, got ${String(error)}`)
  assert.equal(error.code, code, error.message)
  if (message) assert.match(error.message, message)
  return true
}

describe('hostListed', () => {
  const hosts = ['youtube.com', 'YouTu.be.', 'soundcloud.com']

  it('matches a listed host and its subdomains', () => {
    for (const href of ['https://youtube.com/watch?v=x', 'https://www.youtube.com/watch?v=x', 'https://m.YouTube.com./x', 'https://youtu.be/x']) {
      assert.equal(hostListed(new URL(href), hosts), true, href)
    }
  })

  it('does not match look-alikes or suffixes that are not a parent domain', () => {
    for (const href of ['https://notyoutube.com/x', 'https://youtube.com.evil.example/x', 'https://example.com/youtube.com']) {
      assert.equal(hostListed(new URL(href), hosts), false, href)
    }
    assert.equal(hostListed(new URL('https://youtube.com/'), []), false)
    assert.equal(hostListed(new URL('https://youtube.com/'), ['']), false)
  })
})

describe('buildYtDlpArgs', () => {
  it('builds a fixed argv with the URL last, after --', () => {
    const url = new URL('https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PL1')
    assert.deepEqual(buildYtDlpArgs(url, '/data/tmp/import-1', 50_000_000, 'http://tympan:s3cret@127.0.0.1:41000'), [
      '--ignore-config',
      '--proxy', 'http://tympan:s3cret@127.0.0.1:41000',
      '--downloader', 'native',
      '--use-extractors', 'default,-generic',
      '--no-playlist',
      '-x', '--audio-format', 'best',
      '--max-filesize', '50000000',
      '--no-part',
      '--restrict-filenames',
      '-o', '/data/tmp/import-1/%(id)s.%(ext)s',
      '--print', 'after_move:filepath',
      '--',
      'https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PL1'
    ])
  })

  it('passes a hostile-looking URL as one argument, never as options', () => {
    const args = buildYtDlpArgs(new URL('https://youtube.com/--exec=rm%20-rf;$(id)'), '/d', 1, 'http://tympan:s@127.0.0.1:1')
    assert.equal(args.at(-2), '--')
    assert.equal(args.at(-1), 'https://youtube.com/--exec=rm%20-rf;$(id)')
  })
})

describe('mediaDownloader', () => {
  // Each download directory is an area of a workspace rooted here.
  const dir = mkdtempSync(path.join(tmpdir(), 'tympan-media-'))
  let counter = 0
  const destDir = async () => {
    const created = path.join(dir, `out-${++counter}`)
    await mkdir(created)
    return created
  }
  // Stand-ins for yt-dlp: shell scripts that honour -o the way yt-dlp does.
  const fake = async (name: string, body: string) => {
    const file = path.join(dir, name)
    await writeFile(file, `#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done\nfile=$(echo "$out" | sed 's/%(id)s/vid123/; s/%(ext)s/opus/')\n${body}\n`)
    await chmod(file, 0o755)
    return file
  }
  const url = new URL('https://www.youtube.com/watch?v=vid123')
  const policy = { hosts: ['youtube.com'], allowHttp: false, allowPrivate: false, files: localFileStores(dir).workspace }
  const limits = { maxBytes: 1000, timeoutMs: 5_000 }

  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('says how to enable the feature when yt-dlp is missing', async () => {
    const downloader = mediaDownloader({ ...policy, binary: path.join(dir, 'no-such-yt-dlp') })
    assert.equal(downloader.handles(url), true)
    await assert.rejects(downloader.download(url, await destDir(), limits), rejectsWith(
      'media_tool_missing',
      /^Importing from www\.youtube\.com needs yt-dlp: apt-get install yt-dlp, and list the host in IMPORT_MEDIA_HOSTS$/
    ))
  })

  it('returns the file yt-dlp printed', async () => {
    const binary = await fake('ok.sh', 'printf audio > "$file"; echo "$file"')
    const out = await destDir()
    const result = await mediaDownloader({ ...policy, binary }).download(url, out, limits)
    assert.deepEqual(result, { path: path.join(out, 'vid123.opus'), name: 'vid123.opus' })
  })

  it('runs yt-dlp through a per-download proxy with its own secret, closed afterwards', async () => {
    const argsFile = path.join(dir, 'args.txt')
    const binary = path.join(dir, 'args.sh')
    await writeFile(binary, `#!/bin/sh\nprintf '%s\\n' "$@" >> ${argsFile}\nexec ${await fake('args-inner.sh', 'printf audio > "$file"; echo "$file"')} "$@"\n`)
    await chmod(binary, 0o755)
    const downloader = mediaDownloader({ ...policy, binary })
    await downloader.download(url, await destDir(), limits)
    await downloader.download(url, await destDir(), limits)
    const proxies = (await readFile(argsFile, 'utf8')).split('\n').filter((line, i, lines) => lines[i - 1] === '--proxy')
    assert.equal(proxies.length, 2)
    for (const proxy of proxies) {
      const { protocol, hostname, username, password, port } = new URL(proxy)
      assert.deepEqual({ protocol, hostname, username }, { protocol: 'http:', hostname: '127.0.0.1', username: 'tympan' })
      assert.match(password, /^[0-9a-f]{48}$/)
      await assert.rejects(new Promise((resolve, reject) => connect(Number(port), '127.0.0.1').once('connect', resolve).once('error', reject)), { code: 'ECONNREFUSED' })
    }
    assert.notEqual(new URL(proxies[0]!).password, new URL(proxies[1]!).password)
  })

  it('removes a download larger than maxBytes', async () => {
    const binary = await fake('big.sh', 'head -c 2000 /dev/zero > "$file"; echo "$file"')
    const out = await destDir()
    await assert.rejects(mediaDownloader({ ...policy, binary }).download(url, out, limits), rejectsWith('too_large'))
    assert.deepEqual(await readdir(out), [])
  })

  it('refuses a printed path outside destDir', async () => {
    const binary = await fake('escape.sh', 'echo /etc/passwd')
    await assert.rejects(mediaDownloader({ ...policy, binary }).download(url, await destDir(), limits), rejectsWith('network'))
    assert.equal(existsSync('/etc/passwd'), true)
  })

  it('keeps the tool\'s error output out of the client message', async () => {
    const binary = await fake('fail.sh', 'echo "ERROR: secret internal detail" >&2; exit 1')
    await assert.rejects(mediaDownloader({ ...policy, binary }).download(url, await destDir(), limits), (error: unknown) => {
      rejectsWith('network', /^Could not download media from www\.youtube\.com$/)(error)
      assert.match(JSON.stringify((error as ImportError).cause), /secret internal detail/)
      return true
    })
  })

  it('kills the tool and its children on timeout', async () => {
    const pidFile = path.join(dir, 'child.pid')
    const binary = await fake('hang.sh', `sleep 30 & echo $! > ${pidFile}; wait`)
    const started = Date.now()
    await assert.rejects(
      mediaDownloader({ ...policy, binary }).download(url, await destDir(), { ...limits, timeoutMs: 300 }),
      rejectsWith('timeout')
    )
    assert.ok(Date.now() - started < 3_000)
    const pid = (await readFile(pidFile, 'utf8')).trim()
    // Gone, or a zombie waiting for init to reap it: either way no longer running.
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').then((stat) => stat.split(') ')[1]?.[0], () => 'gone')
    assert.ok(state === 'gone' || state === 'Z', `sleep is still in state ${state}`)
  })

  it('passes on the caller\'s abort reason', async () => {
    const binary = await fake('slow.sh', 'sleep 30')
    const controller = new AbortController()
    const reason = new Error('client went away')
    setTimeout(() => controller.abort(reason), 100)
    await assert.rejects(
      mediaDownloader({ ...policy, binary }).download(url, await destDir(), { ...limits, signal: controller.signal }),
      (error) => error === reason
    )
  })
})
