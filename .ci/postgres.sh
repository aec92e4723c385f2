#!/usr/bin/env bash
# A throwaway PostgreSQL server for the ledger's PostgreSQL test (tests/track/test_ledger.py).
#   bash .ci/postgres.sh start   -> prints a SQLAlchemy URL on stdout (nothing when unavailable)
#   bash .ci/postgres.sh stop URL
# Installs Debian's postgresql package when run as root with apt-get; listens only on a Unix
# socket in a private temporary folder; never fails the build (the test skips without a URL).
set -uo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
start)
  bin=$(pg_bin)
  if [ -z "$bin" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get install -y -q postgresql >/dev/null 2>&1 \
      || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q postgresql >/dev/null 2>&1)) \
      || true
    bin=$(pg_bin)
  fi
  [ -n "$bin" ] || exit 0
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then exit 0; fi
  dir=$(mktemp -d /tmp/priorauth-pg.XXXXXX) || exit 0
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null 2>&1 || exit 0
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-k $dir -c listen_addresses=''" start >/dev/null 2>&1 || exit 0
  as_pg "$bin/createdb" -h "$dir" -U postgres priorauth_test >/dev/null 2>&1 || exit 0
  echo "postgresql+psycopg://postgres@/priorauth_test?host=$dir"
  ;;
stop)
  dir=${2##*host=}
  bin=$(pg_bin)
  [ -n "$bin" ] && [ -d "$dir/data" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1
  rm -rf "$dir"
  ;;
esac
exit 0
