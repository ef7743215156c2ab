// The speed and memory run, in a process of its own so that its peak RSS is the engine's
// alone (plus Node itself, which every server process carries too): separates one file with
// every core and prints a JSON line. Run by run.ts; usage: node speed.ts FILE SECONDS STEMS
//
// Memory is VmHWM from /proc, not process.resourceUsage().maxRSS: Linux carries a process's
// maxrss across exec, so a child spawned by a parent holding 300 MiB of audio reports the
// parent's size before it has done anything. CPU time includes the ffmpeg processes the engine
// waited for (cutime and cstime in /proc/self/stat).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { separateFile, type StemCount } from './methods.ts'

const [file, seconds, stems] = process.argv.slice(2)
if (!file || !seconds || (stems !== '2' && stems !== '4')) throw new Error('usage: node speed.ts FILE SECONDS 2|4')

const statusKiB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1])
// utime, stime, cutime, cstime, in clock ticks (USER_HZ, 100 on Linux).
const cpuSeconds = () => fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ').slice(11, 15).map(Number).reduce((a, b) => a + b, 0) / 100

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tympan-bench-separate-speed-'))
try {
  const idleRss = statusKiB('VmHWM') * 1024
  const cpuBefore = cpuSeconds()
  const started = performance.now()
  const paths = await separateFile(file, Number(seconds), Number(stems) as StemCount, os.availableParallelism(), workDir)
  const elapsed = (performance.now() - started) / 1000
  const bytes = Object.values(paths).reduce((sum, p) => sum + fs.statSync(p).size, 0)
  console.log(JSON.stringify({ seconds: elapsed, peakRss: statusKiB('VmHWM') * 1024, idleRss, cpuSeconds: cpuSeconds() - cpuBefore, stemBytes: bytes, loadAverage: os.loadavg()[1] }))
} finally {
  fs.rmSync(workDir, { recursive: true, force: true })
}
