# shellcheck shell=bash
# Provisioning helpers, sourced by scripts/start, scripts/test and bin/tympan.
# Every tympan_ensure_* function is idempotent and prints nothing when the
# requirement is already met. Chatter from installs goes to stderr so the
# stdout of the server/tests stays clean.

# Repo root, from this file's real location: works from any cwd and through symlinks.
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
TYMPAN_NODE_MAJOR=24
TYMPAN_TOOLCHAIN_BIN="$ROOT/.toolchain/node_modules/node/bin"

# Debian packages the server needs: scripts/apt-packages.txt (one per line, # comments), the
# list deploy/Dockerfile installs too. An array here, so callers can append (scripts/test).
TYMPAN_APT_PACKAGES=()
while read -r tympan_pkg _; do
  if [[ -n "$tympan_pkg" ]]; then TYMPAN_APT_PACKAGES+=("$tympan_pkg"); fi
done < <(sed 's/#.*//' "$ROOT/scripts/apt-packages.txt")
unset tympan_pkg
# npm is only needed to bootstrap; an npm already on PATH (nvm, NodeSource...) is fine.
command -v npm >/dev/null 2>&1 || TYMPAN_APT_PACKAGES+=(nodejs npm)

tympan_die() { echo "tympan: $*" >&2; exit 1; }

tympan_ensure_apt_packages() {
  local pkg missing=()
  for pkg in "${TYMPAN_APT_PACKAGES[@]}"; do
    # "install ok installed" / "hold ok installed"; anything else (absent, config-files) is missing.
    # shellcheck disable=SC2016  # ${Status} is a dpkg-query format field, not a shell variable
    [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == *" installed" ]] || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0

  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 ||
      tympan_die "need root or sudo to install: ${missing[*]} (or install them yourself)"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 ||
    tympan_die "apt-get not found; install these packages yourself: ${missing[*]}"
  echo "tympan: installing system packages: ${missing[*]}" >&2
  # DEBIAN_FRONTEND goes through env because sudo resets the environment.
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q)
  "${apt[@]}" update >&2 || tympan_die "apt-get update failed${sudo:+ (does this user have sudo rights?)}"
  "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2 ||
    tympan_die "apt-get install failed: ${missing[*]}"
  hash -r # a freshly installed npm/node must be found on PATH
}

# Major version of the given node binary; empty if it does not run.
tympan_node_major() {
  local v
  v="$("$1" --version 2>/dev/null)" || return 0
  [[ "$v" =~ ^v([0-9]+)\. ]] && echo "${BASH_REMATCH[1]}"
  return 0
}

# Select a Node >= 24 without installing anything: the one on PATH if recent
# enough, else the repo-local toolchain (whose bin dir is then put first on
# PATH, so npm and its child processes use it too). Returns 1 if neither.
tympan_use_node() {
  local major
  major="$(tympan_node_major node)"
  ((${major:-0} >= TYMPAN_NODE_MAJOR)) && return 0
  major="$(tympan_node_major "$TYMPAN_TOOLCHAIN_BIN/node")"
  ((${major:-0} >= TYMPAN_NODE_MAJOR)) || return 1
  export PATH="$TYMPAN_TOOLCHAIN_BIN:$PATH"
  hash -r
}

tympan_ensure_node() {
  tympan_use_node && return 0
  echo "tympan: installing Node $TYMPAN_NODE_MAJOR into $ROOT/.toolchain" >&2
  # The "node" npm package ships the official binary. npm may warn that it
  # skipped the package's install script; the binary is still put in place,
  # which tympan_use_node verifies by running it.
  npm install --prefix "$ROOT/.toolchain" --no-save --no-audit --no-fund \
    "node@$TYMPAN_NODE_MAJOR" >&2 || tympan_die "npm install node@$TYMPAN_NODE_MAJOR failed"
  tympan_use_node || tympan_die "Node $TYMPAN_NODE_MAJOR install did not produce a working $TYMPAN_TOOLCHAIN_BIN/node"
}

# Run after tympan_ensure_node so npm ci (and native addons) use Node 24.
tympan_ensure_npm_deps() {
  # -nt is also true when node_modules/.package-lock.json does not exist.
  if [[ ! -d "$ROOT/node_modules" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]]; then
    echo "tympan: installing npm dependencies (npm ci)" >&2
    (cd "$ROOT" && npm ci --no-audit --no-fund >&2) || tympan_die "npm ci failed"
  fi
}

# The web UI (web/) is its own npm package; its build (web/dist) is what `tympan serve`
# serves at /. Rebuilt when missing or older than any source file of it.
tympan_ensure_web() {
  local web="$ROOT/web"
  [[ -f "$web/package.json" ]] || return 0
  if [[ ! -d "$web/node_modules" || "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]]; then
    echo "tympan: installing the web UI's npm dependencies (npm ci in web/)" >&2
    (cd "$web" && npm ci --no-audit --no-fund >&2) || tympan_die "npm ci in web/ failed"
  fi
  local stamp="$web/dist/index.html"
  if [[ ! -f "$stamp" ]] || [[ -n "$(find "$web/src" "$web/public" "$web/index.html" "$web/vite.config.ts" "$web/package-lock.json" -newer "$stamp" -print -quit 2>/dev/null)" ]]; then
    echo "tympan: building the web UI (vite build into web/dist)" >&2
    (cd "$web" && npm run build >&2) || tympan_die "building the web UI failed"
  fi
}

tympan_ensure_all() {
  tympan_ensure_apt_packages
  tympan_ensure_node
  tympan_ensure_npm_deps
  tympan_ensure_web
}
