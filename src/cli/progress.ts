/**
 * Progress for long CLI work: a redrawn bar on a terminal, plain lines elsewhere (logs and CI
 * keep every line, so there only stage changes and every tenth are printed).
 */
export function progressReporter (stream: NodeJS.WriteStream = process.stderr) {
  const tty = stream.isTTY === true
  let lastStage = ''
  let lastTenth = -1
  return {
    update (fraction: number, stage: string) {
      const percent = Math.round(Math.min(1, Math.max(0, fraction)) * 100)
      if (tty) {
        const width = 30
        const filled = Math.round((percent / 100) * width)
        const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}%  ${stage}`
        stream.write(`\r${line.slice(0, (stream.columns || 80) - 1).padEnd(Math.min(79, (stream.columns || 80) - 1))}`)
        return
      }
      const tenth = Math.floor(percent / 10)
      if (stage === lastStage && tenth === lastTenth) return
      lastStage = stage
      lastTenth = tenth
      stream.write(`${String(percent).padStart(3)}%  ${stage}\n`)
    },
    done () {
      if (tty) stream.write('\n')
    }
  }
}
