import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ESLint } from 'eslint'

// The layer and side-effect rules of eslint.config.js, proven on code that breaks them: a rule
// weakened by accident (a pattern that no longer matches, an override that lifts too much)
// fails here, not silently in review.
const eslint = new ESLint()

async function refusals (filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath })
  return (result?.messages ?? []).filter((m) => m.ruleId?.endsWith('no-restricted-imports')).map((m) => m.message)
}

describe('architecture: dependencies point one way', () => {
  it('refuses the modules and the wiring in every lower folder', async () => {
    for (const folder of ['http', 'guard', 'audit', 'engines', 'dsp', 'media', 'storage', 'db', 'config', 'observability', 'access', 'process']) {
      const got = await refusals(`src/${folder}/x.ts`, [
        "import type { A } from '../modules/files/files.service.ts'",
        "import type { B } from '../container.ts'",
        "import type { C } from '../app.ts'",
        'export type D = [A, B, C]'
      ].join('\n'))
      assert.equal(got.length, 3, `${folder}: ${got.join('; ')}`)
    }
  })

  it('refuses an import up the layers, and allows one down', async () => {
    assert.equal((await refusals('src/http/x.ts', "import type { A } from '../guard/guard.ts'\nexport type B = A")).length, 1)
    assert.equal((await refusals('src/access/x.ts', "import type { A } from '../http/problem.ts'\nexport type B = A")).length, 1)
    assert.equal((await refusals('src/guard/x.ts', "import type { A } from '../observability/metrics.ts'\nexport type B = A")).length, 1)
    assert.deepEqual(await refusals('src/guard/x.ts', "import type { A } from '../http/problem.ts'\nexport type B = A"), [])
    assert.deepEqual(await refusals('src/modules/x/x.ts', "import type { A } from '../../guard/guard.ts'\nexport type B = A"), [])
    assert.deepEqual(await refusals('src/media/x.ts', "import type { A } from '../process/run-process.ts'\nexport type B = A"), [])
    assert.equal((await refusals('src/process/x.ts', "import type { A } from '../engines/engine.ts'\nexport type B = A")).length, 1)
    // Encryption at rest keeps its wrapped keys in the database: storage sits on db, never the reverse.
    assert.deepEqual(await refusals('src/storage/x.ts', "import type { A } from '../db/schema.ts'\nexport type B = A"), [])
    assert.equal((await refusals('src/db/x.ts', "import type { A } from '../storage/storage.ts'\nexport type B = A")).length, 1)
  })

  it('refuses the file system in modules and child processes outside the runner', async () => {
    for (const name of ['node:fs', 'fs', 'node:fs/promises', 'fs/promises']) {
      assert.equal((await refusals('src/modules/files/x.ts', `import fs from '${name}'\nexport const a = fs`)).length, 1, name)
    }
    for (const file of ['src/engines/x.ts', 'src/engines/process.ts', 'src/media/probe.ts', 'src/modules/files/import/media-downloader.ts', 'src/cli/x.ts']) {
      assert.equal((await refusals(file, "import { spawn } from 'node:child_process'\nexport const a = spawn")).length, 1, file)
    }
    assert.deepEqual(await refusals('src/process/run-process.ts', "import { spawn } from 'node:child_process'\nexport const a = spawn"), [])
    assert.deepEqual(await refusals('src/modules/files/x.test.ts', "import fs from 'node:fs'\nexport const a = fs"), [])
    assert.deepEqual(await refusals('src/storage/x.ts', "import fs from 'node:fs'\nexport const a = fs"), [])
  })
})
