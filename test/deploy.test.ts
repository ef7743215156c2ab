import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { parse } from 'yaml'

// Docker and systemd do not run on the development machines, so the deployment files are
// checked by reading them: the image installs the set-up script's packages, and the files
// agree with each other and with the server on ports, probe path, user and data directory.
const ROOT = path.resolve(import.meta.dirname, '..')
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8')

const PORT = '8080'
const USER = 'tympan'
const DATA_DIR = '/var/lib/tympan'

/** The package list as its documented format says: one per line, `#` starts a comment. */
function packageList (): string[] {
  return read('scripts/apt-packages.txt').split('\n').map((line) => line.replace(/#.*/, '').trim()).filter(Boolean)
}

/** Dockerfile instructions, continuation lines joined, grouped by stage. */
function dockerStages (): Array<{ from: string, instructions: Array<{ op: string, args: string }> }> {
  const text = read('deploy/Dockerfile').replace(/\\\n/g, ' ')
  const stages: Array<{ from: string, instructions: Array<{ op: string, args: string }> }> = []
  for (const line of text.split('\n')) {
    const match = /^([A-Z]+)\s+(.*)$/.exec(line.trim())
    if (!match) continue
    const [, op, args] = match as unknown as [string, string, string]
    if (op === 'FROM') stages.push({ from: args, instructions: [] })
    else stages.at(-1)?.instructions.push({ op, args })
  }
  return stages
}

function bash (script: string): string {
  return execFileSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8' })
}

interface ComposeService {
  image?: string
  command?: string[]
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test?: string[], disable?: boolean }
  networks?: Record<string, { ipv4_address?: string }> | string[]
  deploy?: { replicas?: number }
  volumes?: string[]
}

const compose = () => parse(read('deploy/compose.yaml'), { merge: true }) as { services: Record<string, ComposeService> }

function unit (file: string): Map<string, string[]> {
  const entries = new Map<string, string[]>()
  for (const line of read(file).split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line)
    if (match) entries.set(match[1]!, [...entries.get(match[1]!) ?? [], match[2]!])
  }
  return entries
}

describe('one list of Debian packages', () => {
  it('scripts/lib.sh reads scripts/apt-packages.txt into TYMPAN_APT_PACKAGES, which callers can still extend', () => {
    const list = packageList()
    assert.ok(list.includes('ffmpeg') && list.includes('pocketsphinx') && list.includes('espeak-ng'), 'the engines are on the list')
    assert.equal(new Set(list).size, list.length, 'no package listed twice')
    // As scripts/test does: append after sourcing.
    const fromLib = bash('source scripts/lib.sh && TYMPAN_APT_PACKAGES+=(sox) && printf "%s\\n" "${TYMPAN_APT_PACKAGES[@]}"').trim().split('\n')
    assert.deepEqual(fromLib.slice(0, list.length), list)
    // Only the bootstrap (an npm when none is on PATH) and the appended package follow.
    assert.deepEqual(fromLib.slice(list.length).filter((name) => name !== 'nodejs' && name !== 'npm'), ['sox'])
  })

  it('the runtime image installs exactly that list, and nothing else', () => {
    const stages = dockerStages()
    const runtime = stages.at(-1)!
    assert.equal(runtime.from, 'debian:bookworm-slim', 'the runtime stage starts clean, not from the build stage')
    const copy = runtime.instructions.find((i) => i.op === 'COPY' && i.args.startsWith('scripts/apt-packages.txt '))
    assert.ok(copy, 'the runtime stage copies scripts/apt-packages.txt')
    const target = copy.args.split(/\s+/)[1]!
    const installs = runtime.instructions.filter((i) => i.op === 'RUN' && i.args.includes('apt-get install'))
    assert.equal(installs.length, 1, 'one apt-get install in the runtime stage')
    // The command that feeds apt-get its arguments, run here on the repository's file.
    const feed = new RegExp(`(sed\\s+'[^']*'\\s+${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})\\s*\\|\\s*xargs\\s+env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends\\s*(?:&&|$)`).exec(installs[0]!.args)
    assert.ok(feed, `the install reads its packages from ${target} only: ${installs[0]!.args}`)
    const installed = bash(`${feed[1]!.replace(target, 'scripts/apt-packages.txt')} | xargs printf '%s\\n'`).trim().split('\n')
    assert.deepEqual(installed, packageList())
  })

  it('a comment or a blank line in the list installs nothing', () => {
    const text = read('scripts/apt-packages.txt')
    assert.match(text, /^#/m, 'the reasons stay in the file as comments')
    assert.ok(!packageList().some((name) => /\s|#/.test(name)))
  })
})

describe('deploy/Dockerfile', () => {
  const stages = dockerStages()
  const runtime = stages.at(-1)!
  const find = (op: string) => runtime.instructions.filter((i) => i.op === op).map((i) => i.args)

  it('builds with Node 24 as scripts/lib.sh provisions it, production dependencies only, and the web UI', () => {
    assert.equal(stages.length, 2)
    assert.match(stages[0]!.from, /^debian:bookworm-slim AS build$/)
    const build = stages[0]!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n')
    assert.match(build, /source scripts\/lib\.sh && tympan_ensure_node/)
    assert.match(build, /npm ci --omit=dev/)
    assert.match(build, /cd web && npm run build/)
    assert.ok(find('COPY').some((args) => /^--from=build \/app \/app$/.test(args)))
  })

  it('runs as the non-root user, in production, with its data on a volume and a node-only health check on /healthz', () => {
    assert.deepEqual(find('USER'), [USER])
    assert.match(find('RUN').join('\n'), new RegExp(`useradd --system --uid \\d+ .*${USER}`))
    assert.deepEqual(find('EXPOSE'), [PORT])
    assert.deepEqual(find('VOLUME'), [DATA_DIR])
    const env = find('ENV').join(' ')
    assert.match(env, /TYMPAN_ENV=production/)
    assert.match(env, new RegExp(`TYMPAN_DATA_DIR=${DATA_DIR}`))
    assert.match(env, new RegExp(`PORT=${PORT}`))
    const [health] = find('HEALTHCHECK')
    assert.ok(health)
    const command = JSON.parse(health.slice(health.indexOf('CMD') + 3).trim()) as string[]
    assert.equal(command[0], 'node', 'no curl in the image: node probes')
    assert.match(command.join(' '), /\/healthz/)
    assert.match(read('src/modules/health/health.routes.ts'), /app\.get\('\/healthz'/)
    assert.deepEqual(find('ENTRYPOINT'), ['["/app/bin/tympan"]'])
  })

  it('.dockerignore lets in what the build copies, and keeps out .env, node_modules and data', () => {
    const rules = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    assert.equal(rules[0], '*', 'everything is out unless named')
    const allowed = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1).replace(/\/$/, ''))
    const sources = stages.flatMap((s) => s.instructions).filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
    for (const source of sources) {
      assert.ok(allowed.includes(source.replace(/\/$/, '').split('/')[0]!) || allowed.includes(source), `${source} is in the build context`)
    }
    for (const secret of ['.env', 'node_modules', 'data']) assert.ok(!allowed.includes(secret), `${secret} stays out`)
    assert.ok(rules.includes('.env'))
  })
})

describe('deploy/compose.yaml and deploy/nginx.compose.conf', () => {
  const { services } = compose()
  const tympanServices = Object.entries(services).filter(([, s]) => s.image === 'tympan:local')
  const apis = tympanServices.filter(([, s]) => s.command?.[0] === 'serve')
  const workers = tympanServices.filter(([, s]) => s.command?.[0] === 'worker')
  const nginx = read('deploy/nginx.compose.conf')

  it('runs two API nodes without workers and two workers, after the migration, on PostgreSQL, Redis and S3', () => {
    assert.equal(apis.length, 2)
    for (const [, api] of apis) assert.equal(api.environment?.WORKER_CONCURRENCY, '0')
    assert.equal(workers.length, 1)
    assert.equal(workers[0]![1].deploy?.replicas, 2)
    assert.equal(services.migrate?.command?.[0], 'migrate')
    for (const [name, service] of [...apis, ...workers]) {
      assert.equal(service.depends_on?.migrate?.condition, 'service_completed_successfully', name)
      assert.equal(service.depends_on?.redis?.condition, 'service_healthy', name)
      assert.equal(service.depends_on?.['minio-init']?.condition, 'service_completed_successfully', name)
      assert.match(service.environment!.DATABASE_URL!, /^postgres:\/\/tympan_app:\$\{POSTGRES_APP_PASSWORD:\?[^}]*\}@postgres:5432\/tympan$/)
      assert.equal(service.environment!.DATABASE_MIGRATION_URL, undefined, `${name} never holds the owner's password`)
      assert.match(service.environment!.REDIS_URL!, /^redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]*\}@redis:6379$/)
      assert.match(service.environment!.STORAGE_URL!, /^s3:\/\/tympan\//)
      assert.equal(service.environment!.S3_ENDPOINT, 'http://minio:9000')
      assert.equal(service.environment!.TYMPAN_ENV, 'production')
    }
    assert.equal(services.migrate?.depends_on?.postgres?.condition, 'service_healthy')
    // The owner migrates and grants; the runtime role it grants to is made when the volume is new.
    assert.match(services.migrate!.environment!.DATABASE_MIGRATION_URL!, /^postgres:\/\/tympan:\$\{POSTGRES_PASSWORD:\?[^}]*\}@postgres:5432\/tympan$/)
    assert.ok(services.postgres!.volumes!.includes('./postgres-roles.sh:/docker-entrypoint-initdb.d/10-tympan-roles.sh:ro'))
    const roles = read('deploy/postgres-roles.sh')
    assert.match(roles, /CREATE ROLE tympan_app LOGIN PASSWORD :'app_password';/)
    // The password from the environment inside psql, never on its command line (ps shows argv).
    assert.match(roles, /^\\getenv app_password POSTGRES_APP_PASSWORD$/m)
    assert.doesNotMatch(roles, /-v app_password/)
    assert.match(services['minio-init']!.image!, /^minio\/mc/)
    assert.match(JSON.stringify(services['minio-init']), /mc mb --ignore-existing local\/tympan/)
    assert.match(services.minio!.image!, /^minio\/minio/)
  })

  it('holds no secret: every password, key and secret is taken from the environment', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (!/PASSWORD|SECRET|KEY/.test(key) || key === 'AWS_ACCESS_KEY_ID') continue
        assert.match(value, /^\$\{[A-Z_]+(?::[-?][^}]*)?\}$/, `${name} ${key} comes from the environment`)
      }
    }
    assert.match(JSON.stringify(services.redis), /--requirepass/, 'Redis demands a password')
    assert.doesNotMatch(read('deploy/compose.yaml'), /BEGIN [A-Z ]*PRIVATE KEY/)
  })

  it('every service has a health check or a completion that its dependants wait for', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        const target = services[dependency]
        assert.ok(target, `${name} depends on ${dependency}, which exists`)
        if (condition === 'service_healthy') assert.ok(target.healthcheck?.test || target.image === 'tympan:local', `${dependency} has a health check (${name} waits for it)`)
        else assert.equal(condition, 'service_completed_successfully')
      }
    }
    for (const [name] of apis) assert.equal(services.nginx!.depends_on?.[name]?.condition, 'service_healthy', `nginx waits for ${name}`)
    for (const [name, worker] of workers) assert.equal(worker.healthcheck?.disable, true, `${name} has no HTTP port for the image's probe`)
  })

  it('nginx sends to both API nodes on the image\'s port, unbuffered for SSE and uploads, with TLS', () => {
    const upstream = [...nginx.matchAll(/^\s*server\s+([\w-]+):(\d+)\b/gm)].map((m) => [m[1], m[2]])
    assert.deepEqual(upstream.map(([host]) => host).sort(), apis.map(([name]) => name).sort())
    for (const [, port] of upstream) assert.equal(port, PORT)
    assert.match(nginx, /^\s*proxy_buffering off;/m)
    assert.match(nginx, /^\s*proxy_request_buffering off;/m)
    assert.match(nginx, /^\s*listen 443 ssl;/m)
    assert.match(nginx, /location = \/healthz/)
    assert.match(nginx, /proxy_set_header X-Forwarded-Proto \$scheme;/)
    assert.match(read('deploy/nginx.conf'), new RegExp(`proxy_pass http://127\\.0\\.0\\.1:${PORT};`))
  })

  it('the API nodes trust forwarded headers from nginx\'s fixed address only, and insist on HTTPS', () => {
    const networks = services.nginx!.networks as Record<string, { ipv4_address?: string }>
    const address = Object.values(networks)[0]!.ipv4_address
    assert.ok(address)
    for (const [name, api] of apis) {
      assert.equal(api.environment!.TRUSTED_PROXIES, address, name)
      assert.equal(api.environment!.FORCE_HTTPS, 'true', name)
    }
    assert.match(nginx, new RegExp(`TRUSTED_PROXIES=${address.replace(/\./g, '\\.')}`))
  })
})

describe('deploy/tympan.service and deploy/tympan-worker.service', () => {
  for (const [file, command] of [['deploy/tympan.service', 'serve'], ['deploy/tympan-worker.service', 'worker']] as const) {
    it(`${file}: the image's user and data directory, hardened, secrets from an environment file`, () => {
      const entries = unit(file)
      const one = (key: string) => { const v = entries.get(key); assert.equal(v?.length, 1, `${file}: one ${key}`); return v![0]! }
      assert.equal(one('User'), USER)
      assert.match(one('ExecStart'), new RegExp(`/bin/tympan ${command}$`))
      // The data directory; the server also the backups' directory, optional ("-").
      assert.deepEqual(one('ReadWritePaths').split(' '), command === 'serve' ? [DATA_DIR, '-/var/backups/tympan'] : [DATA_DIR])
      assert.match(one('Environment'), new RegExp(`TYMPAN_DATA_DIR=${DATA_DIR}`))
      assert.match(one('EnvironmentFile'), /^\/etc\/tympan\/.+\.env$/)
      for (const [key, value] of [['NoNewPrivileges', 'true'], ['ProtectSystem', 'strict'], ['PrivateTmp', 'true'], ['CapabilityBoundingSet', '']] as const) {
        assert.equal(one(key), value, `${file}: ${key}=${value}`)
      }
      // A refused configuration (exit 78, src/main.ts) is not retried forever.
      assert.equal(one('RestartPreventExitStatus'), '78')
      assert.match(read('src/main.ts'), /ConfigError \? 78/)
    })
  }
})
