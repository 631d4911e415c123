#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server with a chosen pgvector version, for the
# version tests, that leaves the machine's own PostgreSQL untouched.
#
#   scripts/pg-pgvector-server.sh start VERSION PORT DIR   prints the server's URL
#   scripts/pg-pgvector-server.sh stop DIR
#
# The shared test-server script (../shared/scripts/pg-test-server.sh) installs
# one pgvector version machine-wide, so switching it would change every other
# server on the machine. This script instead copies the machine's PostgreSQL 15
# (about 50 MB, relocatable: binaries find their share and lib folders beside
# them) into a private prefix, builds the vendored pgvector VERSION
# (../shared/vendor/pgvector-VERSION beside the repository, or
# $PGVECTOR_VENDOR/pgvector-VERSION) into that copy once per machine, and runs
# a server from it: trust authentication, loopback only, data deleted on stop.
# Needs root (it runs the server as the postgres user), like the shared script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
say() { echo "pg-pgvector-server: $*" >&2; }
sys=/usr/lib/postgresql/15

if [ "$cmd" = stop ]; then
  dir=${2:?usage: stop DIR}
  [ -d "$dir" ] || exit 0
  bin=$(cat "$dir/.bin" 2>/dev/null || echo "$sys/bin")
  su postgres -s /bin/sh -c "$bin/pg_ctl -D '$dir' -m fast stop" >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi
[ "$cmd" = start ] || { say "usage: $0 start VERSION PORT DIR | stop DIR"; exit 2; }
version=${2:?usage: start VERSION PORT DIR}
port=${3:?usage: start VERSION PORT DIR}
dir=${4:?usage: start VERSION PORT DIR}
vendor=${PGVECTOR_VENDOR:-$here/../../shared/vendor}
src=$vendor/pgvector-$version
[ -d "$src" ] || { say "no vendored pgvector $version in $src"; exit 1; }
[ -x "$sys/bin/postgres" ] || { say "PostgreSQL 15 is not installed (run ../shared/scripts/pg-test-server.sh once)"; exit 1; }
if [ ! -d /usr/include/postgresql/15/server ]; then
  say "installing postgresql-server-dev-15"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-server-dev-15 >/dev/null
fi

prefix=${TMPDIR:-/tmp}/vecfill-postgres15-pgvector-$version
if [ ! -f "$prefix/.built" ]; then
  say "building pgvector $version into a private copy of PostgreSQL 15 ($prefix)"
  rm -rf "$prefix"
  mkdir -p "$prefix/lib/postgresql" "$prefix/share/postgresql"
  cp -a "$sys" "$prefix/lib/postgresql/"
  cp -a /usr/share/postgresql/15 "$prefix/share/postgresql/"
  rm -f "$prefix/lib/postgresql/15/lib/vector.so" "$prefix"/share/postgresql/15/extension/vector[.-]*
  build=$(mktemp -d)
  cp -r "$src/." "$build/"
  (cd "$build" && make -s -j"$(nproc)" PG_CONFIG="$sys/bin/pg_config" >/dev/null 2>&1) \
    || { say "pgvector build failed in $build"; exit 1; }
  cp "$build/vector.so" "$prefix/lib/postgresql/15/lib/"
  cp "$build/vector.control" "$build"/sql/vector--*.sql "$prefix/share/postgresql/15/extension/"
  rm -rf "$build"
  chmod -R a+rX "$prefix"
  touch "$prefix/.built"
fi
bin=$prefix/lib/postgresql/15/bin

id postgres >/dev/null 2>&1 || useradd -r -m postgres
rm -rf "$dir"
mkdir -p "$dir"
chown postgres "$dir"
su postgres -s /bin/sh -c "$bin/initdb -D '$dir' -A trust -U postgres >/dev/null"
echo "$bin" >"$dir/.bin"
su postgres -s /bin/sh -c "$bin/pg_ctl -D '$dir' -w -l '$dir/server.log' -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50\" start >/dev/null"
"$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
echo "postgres://postgres@127.0.0.1:$port/postgres"
