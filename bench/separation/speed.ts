// The speed and memory run, in a process of its own so that its peak RSS is the engine's
// alone (plus Node itself, which every server process carries too): separates one file with
// every core and prints a JSON line. Run by run.ts; usage: node speed.ts FILE SECONDS STEMS
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { separateFile, type StemCount } from './methods.ts'

const [file, seconds, stems] = process.argv.slice(2)
if (!file || !seconds || (stems !== '2' && stems !== '4')) throw new Error('usage: node speed.ts FILE SECONDS 2|4')
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bench-separate-speed-'))
try {
  const idleRss = process.resourceUsage().maxRSS * 1024
  const started = performance.now()
  const paths = await separateFile(file, Number(seconds), Number(stems) as StemCount, os.availableParallelism(), workDir)
  const elapsed = (performance.now() - started) / 1000
  const usage = process.resourceUsage()
  const bytes = Object.values(paths).reduce((sum, p) => sum + fs.statSync(p).size, 0)
  console.log(JSON.stringify({ seconds: elapsed, peakRss: usage.maxRSS * 1024, idleRss, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, stemBytes: bytes }))
} finally {
  fs.rmSync(workDir, { recursive: true, force: true })
}
