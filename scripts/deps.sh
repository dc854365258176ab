#!/usr/bin/env bash
# Install the Debian packages a target needs, only when some are missing.
# Usage: scripts/deps.sh build|run|test|bench|deb|peer
set -euo pipefail

build=(apache2 apache2-dev libapr1-dev libaprutil1-dev libaprutil1-dbd-sqlite3
       libaprutil1-dbd-pgsql libpcre2-dev libhpdf-dev libgd-dev libcurl4-openssl-dev libjansson-dev
       libqrencode-dev libssl-dev libzip-dev libsqlite3-dev libpq-dev sqlite3 fonts-dejavu-core
       pkg-config check gcc make)
test=(python3 python3-pytest python3-aiosmtpd openssl python3-psycopg2 qpdf poppler-utils unzip
      clang libclang-rt-14-dev curl postgresql-15 python3-fonttools python3-fusepy)
bench=(wrk apache2-utils linux-perf)
# make deb: debhelper (dh_apache2 comes with apache2-dev), dpkg-buildpackage, lintian.
deb=(debhelper dpkg-dev build-essential lintian)
# make bench-peer: the PHP peer (mod_php prefork, PDO SQLite, FPDF, TCPDF).
peer=(libapache2-mod-php php-sqlite3 php-fpdf php-tcpdf php-mbstring)

want=("${build[@]}")
case "${1:-build}" in
  build|run) ;;
  test) want+=("${test[@]}" "${deb[@]}") ;;
  bench) want+=("${test[@]}" "${bench[@]}") ;;
  deb) want+=("${deb[@]}") ;;
  peer) want+=("${test[@]}" "${bench[@]}" "${peer[@]}") ;;
  *) echo "deps.sh: unknown set '$1'" >&2; exit 2 ;;
esac
# The browser tests: Debian's Chromium (never a downloaded browser) driven by
# playwright-core from npm; Node.js and npm from Debian only where the
# machine has none of its own.
if [ "${1:-build}" = test ] || [ "${1:-build}" = bench ]; then
  want+=(chromium)
  command -v node >/dev/null 2>&1 || want+=(nodejs)
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
