import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ESLint } from 'eslint'

// The regex rules of eslint.config.js are what keeps every server regex that sees client input
// (URLs, names, headers, ranges, transcripts) linear; `npx eslint .` passing proves only that
// today's regexes are fine. These prove the rules still refuse the shapes that were ReDoS, so
// a rule dropped or narrowed by accident fails here.
const eslint = new ESLint()

async function regexRefusals (filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath })
  return (result?.messages ?? []).map((m) => m.ruleId ?? '').filter((id) => id.startsWith('regexp/'))
}

// The request-log redaction before issue 9: 4 KB of `?key` blocked the event loop for 1.5 s,
// 8 KB for 10.7 s (cubic), on every URL, before any guard.
const OLD_LOG_REDACTION = [
  'const SENSITIVE_QUERY = /([?&][^=&#]*?(?:key|token|passw|secret|auth|sig|session|cookie)[^=&#]*=)[^&#]*/gi',
  "export const redact = (url: string) => url.replace(SENSITIVE_QUERY, '$1[REDACTED]')"
].join('\n')

describe('regular expressions in server code run in linear time', () => {
  it('refuses the old request-log redaction regex in every server folder', async () => {
    for (const file of ['src/http/logger.ts', 'src/guard/x.ts', 'src/media/x.ts', 'src/modules/files/x.ts', 'src/engines/transcribe/x.ts', 'src/cli/x.ts']) {
      assert.deepEqual(await regexRefusals(file, OLD_LOG_REDACTION), ['regexp/no-super-linear-move'], file)
    }
  })

  it('refuses nested quantifiers (exponential backtracking) and unanchored rescans', async () => {
    assert.deepEqual(await regexRefusals('src/http/x.ts', 'export const f = (s: string) => /^(a+)+$/.test(s)'), ['regexp/no-super-linear-backtracking'])
    assert.deepEqual(await regexRefusals('src/modules/x/x.ts', "export const f = (s: string) => s.replace(/\\s*,\\s*$/, '')"), ['regexp/no-super-linear-move'])
  })

  it('allows linear regexes, and leaves tests alone (they match only their own output)', async () => {
    assert.deepEqual(await regexRefusals('src/http/x.ts', 'export const f = (s: string) => /^[0-9a-f-]{36}$/.test(s)'), [])
    assert.deepEqual(await regexRefusals('src/http/logger.test.ts', OLD_LOG_REDACTION), [])
  })
})
