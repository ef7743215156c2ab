import { useEffect, useRef, useState, type RefObject } from 'react'
import WaveSurfer from 'wavesurfer.js'
import { formatDuration } from '../ui.tsx'

/**
 * wavesurfer.js styles its shadow DOM with a <style> element: under the strict CSP it needs the
 * page's nonce, which the server put in <meta property="csp-nonce"> (and which the browser hides
 * from everything but the `nonce` property).
 */
function cspNonce (): string | undefined {
  const meta = document.querySelector<HTMLMetaElement>('meta[property="csp-nonce"]')
  return meta?.nonce || undefined
}

function themeColor (name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback
}

export interface PlayerHandle {
  seek: (seconds: number) => void
  play: () => void
  pause: () => void
  playing: () => boolean
  setMuted: (muted: boolean) => void
  time: () => number
}

export interface WaveformProps {
  url: string
  label: string
  height?: number
  handle?: RefObject<PlayerHandle | null>
  onTime?: (seconds: number) => void
  /** Without its own controls (the mixer drives it). */
  bare?: boolean
  onReady?: () => void
  onPlayChange?: (playing: boolean) => void
  /** The user clicked or dragged to a new position. */
  onSeek?: (seconds: number) => void
}

export function Waveform ({ url, label, height = 96, handle, onTime, bare = false, onReady, onPlayChange, onSeek }: WaveformProps) {
  const container = useRef<HTMLDivElement>(null)
  const surfer = useRef<WaveSurfer | null>(null)
  const [playing, setPlaying] = useState(false)
  const [time, setTime] = useState(0)
  const [duration, setDuration] = useState(0)
  const [failed, setFailed] = useState<string>()
  const callbacks = useRef({ onTime, onReady, onPlayChange, onSeek })
  callbacks.current = { onTime, onReady, onPlayChange, onSeek }

  useEffect(() => {
    if (!container.current) return
    const nonce = cspNonce()
    const ws = WaveSurfer.create({
      container: container.current,
      url,
      height,
      waveColor: themeColor('--wave', '#8a94c9'),
      progressColor: themeColor('--wave-progress', '#3b4cca'),
      cursorColor: themeColor('--text', '#1b1f2e'),
      cursorWidth: 2,
      barWidth: 2,
      barGap: 1,
      barRadius: 1,
      normalize: true,
      dragToSeek: true,
      ...(nonce ? { cspNonce: nonce } : {})
    })
    surfer.current = ws
    const unsubscribe = [
      ws.on('ready', (d) => { setDuration(d); callbacks.current.onReady?.() }),
      ws.on('timeupdate', (t) => { setTime(t); callbacks.current.onTime?.(t) }),
      ws.on('play', () => { setPlaying(true); callbacks.current.onPlayChange?.(true) }),
      ws.on('pause', () => { setPlaying(false); callbacks.current.onPlayChange?.(false) }),
      ws.on('interaction', (t) => callbacks.current.onSeek?.(t)),
      ws.on('error', () => setFailed('This audio could not be loaded or decoded by the browser.'))
    ]
    if (handle) {
      handle.current = {
        seek: (seconds) => ws.setTime(seconds),
        play: () => { void ws.play() },
        pause: () => ws.pause(),
        playing: () => ws.isPlaying(),
        setMuted: (muted) => ws.setMuted(muted),
        time: () => ws.getCurrentTime()
      }
    }
    return () => {
      for (const off of unsubscribe) off()
      ws.destroy()
      surfer.current = null
      if (handle) handle.current = null
    }
  }, [url, height, handle])

  const skip = (by: number) => surfer.current?.setTime(Math.max(0, (surfer.current.getCurrentTime() ?? 0) + by))

  return (
    <div className="player">
      <div ref={container} className="waveform" role="img" aria-label={`Waveform of ${label}`} />
      {failed && <p className="error-text" role="alert">{failed}</p>}
      {!bare && (
        <div className="player-controls">
          <button type="button" className="button primary" onClick={() => { void surfer.current?.playPause() }} aria-label={`${playing ? 'Pause' : 'Play'} ${label}`}>{playing ? 'Pause' : 'Play'}</button>
          <button type="button" className="button secondary" onClick={() => skip(-5)}>Back 5 s</button>
          <button type="button" className="button secondary" onClick={() => skip(5)}>Forward 5 s</button>
          <span className="player-time" data-testid="player-time"><span className="visually-hidden">Position </span>{formatDuration(time)} / {formatDuration(duration)}</span>
        </div>
      )}
    </div>
  )
}
