import { ADMIN_HELP, JOB_HELP } from './cli/help.ts'
import { CliError } from './cli/runtime.ts'
import { ConfigError } from './config/config.ts'
import { DatabaseInUseError } from './db/pglite-lock.ts'
import { RuntimePrivilegeError } from './db/runtime-role.ts'
import { VERSION } from './version.ts'

const HELP = `tympan ${VERSION}: self-hosted audio AI server

Usage: tympan <command>

  serve          HTTP API and docs, and job workers (WORKER_CONCURRENCY; configuration from the environment, see .env.example)
  worker         job workers only, for more machines on one PostgreSQL (DATABASE_URL)
  transcribe FILE   speech to text, here or on a server (tympan transcribe --help)
  analyze FILE      loudness, levels, tempo, key, waveform and spectrogram images
  translate-text --from en --to es TEXT   text translation, here or on a server (tympan translate-text --help)
  separate FILE     split music into stems: vocals, drums, bass, other (tympan separate --help)
  generate PROMPT   procedural music from words: wav/mp3, MIDI and what was chosen (tympan generate --help)
  speak TEXT        text to speech, here or on a server (tympan speak --help)
  translate FILE --to es [--speak]        speech translation: subtitles and speech, here or on a server (tympan translate --help)
  migrate        apply database migrations
  admin …        manage users, sweep expired files, back up and restore (tympan admin --help)
  doctor         check Node, configuration, database and engines
  doctor --production   the production deployment checklist, item by item
  --version      print the version
  --help         this text

${JOB_HELP}

${ADMIN_HELP}`

// Each command loads only its own modules: the server's (Fastify, every route) cost about
// 1.2 s of start-up that `tympan transcribe` or `tympan --version` have no use for.
async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'serve': await (await import('./cli/serve.ts')).serve(); return -1
    case 'worker': await (await import('./cli/worker.ts')).worker(); return -1
    case 'transcribe': case 'analyze': await (await import('./cli/run-job.ts')).jobCommand(command, rest); return 0
    case 'translate-text': await (await import('./cli/translate-text.ts')).translateTextCommand(rest); return 0
    case 'separate': await (await import('./cli/separate.ts')).separateCommand(rest); return 0
    case 'generate': await (await import('./cli/generate.ts')).generateCommand(rest); return 0
    case 'speak': await (await import('./cli/speak.ts')).speakCommand(rest); return 0
    case 'translate': await (await import('./cli/translate.ts')).speechTranslateCommand(rest); return 0
    case 'migrate': await (await import('./cli/migrate.ts')).migrateCommand(); return 0
    case 'admin': await (await import('./cli/admin.ts')).adminCommand(rest); return 0
    case 'doctor': {
      const { doctor, productionDoctor } = await import('./cli/doctor.ts')
      return (rest.includes('--production') ? await productionDoctor() : await doctor()) ? 0 : 1
    }
    case '--version': case '-v': case 'version': console.log(VERSION); return 0
    case undefined: case '--help': case '-h': case 'help': console.log(HELP); return 0
    default:
      console.error(`tympan: unknown command "${command}"\n\n${HELP}`)
      return 2
  }
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exitCode = code
}, (error: unknown) => {
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error(`tympan: cannot listen: ${(error as Error).message.replace(/^listen /, '')} (another server on that port? set PORT)`)
    process.exitCode = 1
  } else if (error instanceof ConfigError || error instanceof CliError || error instanceof DatabaseInUseError || error instanceof RuntimePrivilegeError) {
    console.error(`tympan: ${error.message}`)
    process.exitCode = error instanceof ConfigError ? 78 : 1
  } else {
    console.error('tympan: unexpected failure', error)
    process.exitCode = 1
  }
})
