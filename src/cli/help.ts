// Help texts live apart from the commands, so `tympan --help` loads none of them.

export const ADMIN_HELP = `tympan admin sweep             delete expired files, finished jobs past retention and abandoned uploads now
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
and it stops working after ONE_TIME_PASSWORD_HOURS (72).`

export const JOB_HELP = `tympan transcribe FILE [--format txt|srt|vtt|json] [--language en] [--engine pocketsphinx|whisper] [--out PATH]
tympan analyze FILE [--out DIR]

Runs on this machine with the installed engines, or with --server URL on a remote Tympan
(the API key from --key or, better, the TYMPAN_API_KEY environment variable: a command line
is visible to every user of the machine). Progress goes to stderr, results to stdout or --out;
--out is written only when the run succeeds. Ctrl-C stops the run, and cancels a server's job.`

export const SPEAK_HELP = `tympan speak TEXT [--voice nova] [--language es] [--speed 0.25-4] [--out FILE] [--format mp3|opus|aac|flac|wav|pcm]
tympan speak --out FILE < text.txt

Speaks TEXT (or standard input) with the installed voices, or with --server URL on a remote
Tympan (the API key from TYMPAN_API_KEY). --voice takes an OpenAI name (alloy, ash, ballad,
coral, echo, fable, onyx, nova, sage, shimmer, verse) or a Tympan voice id (festival:slt-hts,
flite:rms, espeak:es; GET /api/v1/engines lists them). The format follows --out's extension,
else --format, else mp3; without --out the audio goes to stdout (not to a terminal). A TEXT
that starts with "-" goes after "--": tympan speak --out a.wav -- "-5 degrees".`
