/**
 * Progress for long CLI work, always on stderr (stdout holds only the result, so
 * `tympan transcribe talk.wav > talk.txt` stays clean): a redrawn bar on a terminal, plain
 * lines elsewhere (logs and CI keep every line, so there only stage changes and every tenth
 * are printed).
 */
export function progressReporter (stream: NodeJS.WriteStream = process.stderr) {
  const tty = stream.isTTY === true
  let lastStage = ''
  let lastTenth = -1
  let drawn = false
  return {
    update (fraction: number, stage: string) {
      const percent = Math.round(Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0)) * 100)
      if (tty) {
        const width = 30
        const filled = Math.round((percent / 100) * width)
        const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}%  ${stage}`
        // One column short of the edge: writing the last column wraps some terminals to a new line.
        const columns = (stream.columns || 80) - 1
        stream.write(`\r${line.slice(0, columns).padEnd(Math.min(79, columns))}`)
        drawn = true
        return
      }
      const tenth = Math.floor(percent / 10)
      if (stage === lastStage && tenth === lastTenth) return
      lastStage = stage
      lastTenth = tenth
      stream.write(`${String(percent).padStart(3)}%  ${stage}\n`)
    },
    /** Ends the bar's line, so what follows (a message, the shell prompt) starts on its own. */
    done () {
      if (tty && drawn) stream.write('\n')
      drawn = false
    }
  }
}
