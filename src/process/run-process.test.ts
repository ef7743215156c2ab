import assert from 'node:assert/strict'
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { ProcessError, runProcess } from './run-process.ts'

const failure = async (run: Promise<unknown>): Promise<ProcessError> => {
  try {
    await run
  } catch (error) {
    assert.ok(error instanceof ProcessError, String(error))
    return error
  }
  assert.fail('the run resolved')
}

/**
 * Polls until `pid` is dead: gone, or a zombie (killed, waiting for an init that may be slow
 * to reap it in a container).
 */
async function dead (pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').then((stat) => stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3), () => 'gone')
    if (state === 'gone' || state === 'Z') return true
    await sleep(20)
  }
  return false
}

describe('runProcess', () => {
  it('passes arguments as they are, never through a shell', async () => {
    const literal = '$(echo hi); `id` | cat > /tmp/x *'
    const { stdout, exitCode } = await runProcess('printf', ['%s', literal], { timeoutMs: 5000 })
    assert.equal(stdout, literal)
    assert.equal(exitCode, 0)
  })

  it('writes input to stdin as data, and survives a child that does not read it', async () => {
    const text = '-n $(id) (quit) \u0000 ünïcode\n'.repeat(20_000)
    const { stdout } = await runProcess('cat', [], { timeoutMs: 5000, input: text, maxOutput: 1 << 22 })
    assert.equal(stdout, text)
    const ignored = await runProcess('true', [], { timeoutMs: 5000, input: Buffer.alloc(1 << 20) })
    assert.equal(ignored.exitCode, 0)
  })

  it('rejects a non-zero exit with the stderr tail, or resolves it when allowed', async () => {
    const error = await failure(runProcess('sh', ['-c', 'seq 1 10000 >&2; exit 3'], { timeoutMs: 5000, maxOutput: 100 }))
    assert.equal(error.kind, 'exit')
    assert.equal(error.exitCode, 3)
    assert.equal(error.message, 'sh failed (exit code 3)')
    assert.equal(error.stderr.length, 100)
    assert.ok(error.stderr.startsWith('1\n2\n'))
    assert.equal(error.stderrTail.length, 2000)
    assert.ok(error.stderrTail.endsWith('9999\n10000\n'))

    const result = await runProcess('sh', ['-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 5000, allowFailure: true })
    assert.deepEqual(result, { exitCode: 3, signal: null, stdout: 'out\n', stderr: 'err\n' })
  })

  it('names a signal that ended the child from outside', async () => {
    const error = await failure(runProcess('sh', ['-c', 'kill -SEGV $$'], { timeoutMs: 5000 }))
    assert.equal(error.kind, 'exit')
    assert.equal(error.exitSignal, 'SIGSEGV')
    assert.equal(error.message, 'sh failed (killed by SIGSEGV)')
  })

  it('stops a child past its time budget, with what it said so far', async () => {
    const started = Date.now()
    const error = await failure(runProcess('sh', ['-c', 'echo started; exec sleep 30'], { timeoutMs: 300 }))
    assert.equal(error.kind, 'timeout')
    assert.equal(error.stdout, 'started\n')
    assert.ok(Date.now() - started < 5000)
  })

  it('kills the whole process group, so a grandchild does not outlive the run', async () => {
    let grandchild = 0
    // The backgrounded sleep holds stdout open: without the group kill the run would not end.
    const error = await failure(runProcess('sh', ['-c', 'sleep 30 & echo $!; wait'], {
      timeoutMs: 500, onStdoutLine: (line) => { grandchild = Number(line) }
    }))
    assert.equal(error.kind, 'timeout')
    assert.ok(grandchild > 0)
    assert.ok(await dead(grandchild), `grandchild ${grandchild} still runs`)
  })

  it('sends SIGTERM first when given a grace, and SIGKILL after it', async () => {
    const polite = await failure(runProcess('sh', ['-c', 'trap "echo cleaned; exit 0" TERM; sleep 30 & wait'], { timeoutMs: 300, graceMs: 5000 }))
    assert.equal(polite.kind, 'timeout')
    assert.equal(polite.stdout, 'cleaned\n')

    const started = Date.now()
    // An ignored SIGTERM is inherited by the sleep too: only the SIGKILL ends them.
    const stubborn = await failure(runProcess('sh', ['-c', 'trap "" TERM; sleep 30'], { timeoutMs: 200, graceMs: 400 }))
    assert.equal(stubborn.kind, 'timeout')
    const took = Date.now() - started
    assert.ok(took >= 550 && took < 5000, `${took} ms`)
  })

  it('caps the output it keeps, at the head or the tail', async () => {
    const head = await runProcess('seq', ['1', '100000'], { timeoutMs: 5000, maxOutput: 1000 })
    assert.equal(head.stdout.length, 1000)
    assert.ok(head.stdout.startsWith('1\n2\n3\n'))
    const tail = await runProcess('seq', ['1', '100000'], { timeoutMs: 5000, maxOutput: 1000, keep: 'tail' })
    assert.equal(tail.stdout.length, 1000)
    assert.ok(tail.stdout.endsWith('99999\n100000\n'))

    // A child that never stops writing is held to the cap until its budget runs out.
    const endless = await failure(runProcess('yes', [], { timeoutMs: 300, maxOutput: 4096 }))
    assert.equal(endless.kind, 'timeout')
    assert.equal(endless.stdout, 'y\n'.repeat(2048))
  })

  it('streams stdout to a consumer, and lines to callbacks', async () => {
    let bytes = 0
    const sink = new Writable({ write (chunk: Buffer, _encoding, done) { bytes += chunk.length; setImmediate(done) } })
    const piped = await runProcess('head', ['-c', String(4 << 20), '/dev/zero'], { timeoutMs: 10_000, stdout: sink })
    assert.equal(bytes, 4 << 20)
    assert.equal(piped.stdout, '')

    const out: string[] = []
    const err: string[] = []
    const lines = await runProcess('sh', ['-c', 'printf "a\\nb\\r\\nc"; printf "x\\ry" >&2'], {
      timeoutMs: 5000, onStdoutLine: (line) => out.push(line), onStderrLine: (line) => err.push(line)
    })
    assert.deepEqual(out, ['a', 'b', 'c'])
    assert.deepEqual(err, ['x', 'y'])
    assert.equal(lines.stdout, '')
    assert.equal(lines.stderr, 'x\ry')
  })

  it('stops the child when the consumer fails, and rejects with its error', async () => {
    const sink = new Writable({ write (_chunk, _encoding, done) { done(new Error('disk full')) } })
    await assert.rejects(runProcess('yes', [], { timeoutMs: 10_000, stdout: sink }), /disk full/)
  })

  it('runs in the given directory with the given environment', async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'run-process-')))
    try {
      const { stdout } = await runProcess('sh', ['-c', 'echo "$GREETING"; pwd'], { timeoutMs: 5000, cwd: dir, env: { PATH: process.env.PATH, GREETING: 'hello' } })
      assert.equal(stdout, `hello\n${dir}\n`)
    } finally {
      await rm(dir, { recursive: true })
    }
  })

  it('reports a missing binary as missing', async () => {
    const error = await failure(runProcess('tympan-no-such-binary', ['--version'], { timeoutMs: 5000 }))
    assert.equal(error.kind, 'missing')
    assert.equal(error.message, 'tympan-no-such-binary is not installed')
    assert.equal((error.cause as NodeJS.ErrnoException).code, 'ENOENT')
  })

  it('stops on abort, and does not start when already aborted', async () => {
    const controller = new AbortController()
    const reason = new Error('canceled by the user')
    setTimeout(() => { controller.abort(reason) }, 100)
    const started = Date.now()
    const error = await failure(runProcess('sleep', ['30'], { timeoutMs: 60_000, signal: controller.signal }))
    assert.equal(error.kind, 'aborted')
    assert.equal(error.cause, reason)
    assert.ok(Date.now() - started < 5000)

    let ran = false
    const early = await failure(runProcess('sh', ['-c', 'echo ran'], { timeoutMs: 5000, signal: AbortSignal.abort(), onStdoutLine: () => { ran = true } }))
    assert.equal(early.kind, 'aborted')
    assert.equal(ran, false)
  })
})
