#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries (initdb, pg_ctl, postgres) exist for the tests: on PATH or in
# Debian's /usr/lib/postgresql/<version>/bin. Installs Debian's `postgresql` package when they don't
# and we can (root with apt-get). Prints where they are.
set -euo pipefail

find_initdb() {
  command -v initdb 2>/dev/null && return 0
  ls -1d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1
}

found=$(find_initdb || true)
if [ -z "$found" ] && [ -z "${DATABASE_URL:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "PostgreSQL server binaries not found; installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
    found=$(find_initdb || true)
  fi
fi
if [ -z "$found" ] && [ -z "${DATABASE_URL:-}" ]; then
  echo "error: no PostgreSQL server binaries (initdb) and no DATABASE_URL; install PostgreSQL or set DATABASE_URL=postgres://..." >&2
  exit 1
fi
echo "PostgreSQL for tests: ${DATABASE_URL:+DATABASE_URL}${found:+ binaries at $(dirname "$found")}"
