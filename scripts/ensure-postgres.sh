#!/usr/bin/env bash
# Make sure PostgreSQL server binaries are present for the storage tests.
# The tests start their own throwaway server (as an unprivileged user) from these binaries.
# Installs Debian's `postgresql` package when missing and we are root; otherwise only says so,
# and the PostgreSQL tests skip with a visible reason.
set -u
find_initdb() {
  command -v initdb 2>/dev/null && return 0
  ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 | grep . && return 0
  return 1
}
if find_initdb >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "ensure-postgres: installing PostgreSQL from the OS packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq postgresql >/dev/null 2>&1 || echo "ensure-postgres: apt-get install postgresql failed"
fi
if find_initdb >/dev/null; then
  exit 0
fi
echo "ensure-postgres: no PostgreSQL server binaries; PostgreSQL tests will be skipped"
exit 0
