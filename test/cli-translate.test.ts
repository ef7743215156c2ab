import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { binaryInstalled } from '../src/engines/transcribe/installed.ts'
import { runTympan } from './helpers/cli.ts'

const apertiumMissing = await binaryInstalled('apertium', 'apertium') ? false : 'apertium is not installed'
const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-cli-translate-'))
after(() => { fs.rmSync(cwd, { recursive: true, force: true }) })

// A data directory that does not exist: a local translation needs no secrets and no database.
const env = { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`, LANG: 'C.UTF-8', TYMPAN_DATA_DIR: path.join(cwd, 'data') }
const run = (args: string[], input?: string) => runTympan(['translate-text', ...args], { env, cwd, ...(input !== undefined ? { input } : {}) })

describe('tympan translate-text on this machine', { skip: apertiumMissing }, () => {
  it('translates the words after the options (after --, a text may start with -)', async () => {
    const res = await run(['--from', 'en', '--to', 'es', '--', '-h', 'Hello', 'world'])
    assert.equal(res.code, 0, res.stderr)
    assert.equal(res.stdout, '-h Hola Mundo\n')
    assert.ok(!fs.existsSync(path.join(cwd, 'data')), 'a local run creates no data directory')
  })

  it('reads standard input and prints the route with --json', async () => {
    const res = await run(['--from', 'fra', '--to', 'eng', '--json'], 'Le chat est sur la table.\n')
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(JSON.parse(res.stdout), { translation: 'The cat is on the table.', source_lang: 'fr', target_lang: 'en', engine: 'apertium', route: ['fr', 'es', 'en'] })
  })

  it('refuses what it cannot translate, saying why', async () => {
    const unknown = await run(['--from', 'xx', '--to', 'es', 'hello'])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /source language must be the ISO 639-1 or 639-3 code/)
    const unsupported = await run(['--from', 'en', '--to', 'de', 'hello'])
    assert.equal(unsupported.code, 1)
    assert.match(unsupported.stderr, /No installed Apertium pair translates English into German.*From English \(en\) this machine translates into: ca, es/)
    const empty = await run(['--from', 'en', '--to', 'es'], '  \n')
    assert.equal(empty.code, 1)
    assert.match(empty.stderr, /text is empty/)
  })
})
