// Help texts live apart from the commands, so `tympan --help` loads none of them.

export const ADMIN_HELP = `tympan admin sweep             delete expired files, finished jobs past retention, abandoned uploads, audit rows past AUDIT_RETENTION_DAYS and orphaned objects now
tympan admin backup DIR [--encrypt (--passphrase-file FILE | --recipient age1… | --recipient-file FILE)]
                               copy the embedded database and its files into DIR (new or empty), while serving too
tympan admin restore DIR [--passphrase-file FILE | --identity-file FILE]
                               restore such a backup into TYMPAN_DATA_DIR (absent or empty; no server running on it)
tympan admin rotate-storage-key   re-wrap every object's key under STORAGE_ENCRYPTION_KEY (old keys from
                               STORAGE_ENCRYPTION_PREVIOUS_KEYS; no audio rewritten), and encrypt objects
                               stored before encryption was on; resumable, and a second run does nothing
tympan admin user <command>

  create --email E [--role member|admin|viewer] [--tier free|premium|enterprise] [--password-stdin]
  list
  disable EMAIL          ends all the user's sessions and API keys at once
  enable EMAIL
  set-role EMAIL ROLE
  set-tier EMAIL TIER
  reset-password EMAIL [--password-stdin]

Without --password-stdin a strong password is generated and printed once. Either way the
password of create and reset-password is one-time: the user must change it at first sign-in,
and it stops working after ONE_TIME_PASSWORD_HOURS (72).

backup works on the embedded default (PGlite and local files): a consistent snapshot of the
database, the files and artifacts it references, and manifest.json with every file's sha256.
When tympan serve runs on TYMPAN_DATA_DIR the server writes it (ask through its control socket,
so DIR must be writable by the server's user). restore checks every file against the manifest
and refuses a mismatch, a non-empty data directory or a running server. Secrets are not in a
backup: start the restored server with the same ones. With DATABASE_URL (PostgreSQL) and
object storage use pg_dump and bucket versioning instead (docs/operations.md).

--encrypt makes every file an age file (age-encryption.org, readable by the age CLI too),
the manifest authenticated. The secret: a passphrase from --passphrase-file or the
TYMPAN_BACKUP_PASSPHRASE variable (at least 32 random bytes' worth: openssl rand -base64 48),
never on the command line; or public keys (--recipient, --recipient-file, from age-keygen),
so the machine that backs up never holds what decrypts. restore sees that a backup is
encrypted, takes the passphrase or --identity-file (the secret key), and verifies every file
before anything appears.`

export const JOB_HELP = `tympan transcribe FILE [--format txt|srt|vtt|json] [--language en] [--engine pocketsphinx|whisper] [--quality fast|accurate] [--out PATH]
tympan analyze FILE [--out DIR]

Runs on this machine with the installed engines, or with --server URL on a remote Tympan
(the API key from --key or, better, the TYMPAN_API_KEY environment variable: a command line
is visible to every user of the machine). Progress goes to stderr, results to stdout or --out;
--out is written only when the run succeeds. Ctrl-C stops the run, and cancels a server's job.
--quality is pocketsphinx's search: fast (the default, about 15% less CPU) or accurate (a few
errors fewer); whisper ignores it.`

export const TRANSLATE_HELP = `tympan translate-text --from LANG --to LANG [TEXT…] [--json] [--server URL]

Translates TEXT (the words after the options, joined by spaces), or standard input when TEXT
is - or absent, and prints the translation. LANG is an ISO 639-1 or 639-3 code (en, eng, fr, fra).
Pairs without a direct Apertium package go through a pivot (fr → es → en); --json prints the
route too. A text that starts with - goes after --: tympan translate-text --from en --to es -- "-x".
Runs here with the installed Apertium pairs, or with --server URL on a remote Tympan (API key
from TYMPAN_API_KEY, or --key; it needs the translate permission).`

export const SEPARATE_HELP = `tympan separate FILE [--stems 2|4] [--format wav|flac|mp3] [--out DIR] [--server URL]

Splits music into stems by signal processing: --stems 4 (the default) gives vocals, drums,
bass and other; --stems 2 gives vocals and accompaniment. One file per stem and summary.json
go to --out DIR (default: FILE's name with -stems, in the current directory), written only
when the run succeeds; the summary is also printed. With --server URL it runs on a remote
Tympan (API key from TYMPAN_API_KEY or --key). Ctrl-C stops the run.`

export const GENERATE_HELP = `tympan generate PROMPT [--duration SEC] [--seed N] [--tempo BPM] [--music-key KEY] [--format wav|mp3] [--out DIR]

Composes a piece procedurally (rules and a seeded random generator, not a neural model) from
the words of PROMPT: genre (lofi, jazz, rock, ambient, classical, house…), mood (calm, sad,
dark, epic…), tempo ("80 bpm", slow, fast), instruments (piano, guitar, strings, flute…) and
key ("in A minor", F#m). FluidSynth renders it. Writes music.wav (or .mp3), music.mid and
composition.json (what was chosen and why) into --out (default: the current directory) and
prints the summary. --duration is 1–300 s (default 30); the same PROMPT and --seed give the
same MIDI. --tempo and --music-key override the prompt. --server URL runs it on a remote Tympan
(API key from TYMPAN_API_KEY or --key), as for tympan transcribe.

  tympan generate "calm lofi piano, 80 bpm" --duration 30 --out lofi`

export const SPEAK_HELP = `tympan speak TEXT [--voice nova] [--language es] [--speed 0.25-4] [--out FILE] [--format mp3|opus|aac|flac|wav|pcm]
tympan speak --out FILE < text.txt

Speaks TEXT (or standard input) with the installed voices, or with --server URL on a remote
Tympan (the API key from TYMPAN_API_KEY). --voice takes an OpenAI name (alloy, ash, ballad,
coral, echo, fable, onyx, nova, sage, shimmer, verse) or a Tympan voice id (festival:slt-hts,
flite:rms, espeak:es; GET /api/v1/engines lists them). The format follows --out's extension,
else --format, else mp3; without --out the audio goes to stdout (not to a terminal). A TEXT
that starts with "-" goes after "--": tympan speak --out a.wav -- "-5 degrees".`
export const SPEECH_TRANSLATE_HELP = `tympan translate FILE --to LANG [--from en] [--speak [--voice V] [--max-speed 2]] [--engine pocketsphinx|whisper] [--quality fast|accurate] [--out DIR] [--server URL]

Translates the speech of FILE: transcribes it (in --from, default en, which needs an installed
recogniser), translates the text into --to, and prints the translation. With --out DIR every
file goes there: source.txt/.srt/.vtt/.json, translation.txt/.srt/.vtt/.json (the subtitles
keep the source's timings), and with --speak speech.wav, the translation spoken, each segment
where its source speech starts (sped up to at most --max-speed where it would run into the
next). LANG is an ISO 639-1 or 639-3 code. Runs here with the installed engines, or with
--server URL on a remote Tympan (API key from TYMPAN_API_KEY, or --key). Ctrl-C stops the run.`
