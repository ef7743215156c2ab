// pino-roll ships no types; this is the part of its API that src/http/log-file.ts uses.
declare module 'pino-roll' {
  import type { destination } from 'pino'
  type SonicBoom = ReturnType<typeof destination>
  interface PinoRollOptions {
    file: string
    /** pino-roll's units: `<n>b`, `<n>k`, `<n>m`, `<n>g` (a bare number is MB). */
    size?: string
    limit?: { count: number, removeOtherLogFiles?: boolean }
    /** Passed to sonic-boom: the mode of every file it creates. */
    mode?: number
  }
  export default function pinoRoll (options: PinoRollOptions): Promise<SonicBoom>
}
