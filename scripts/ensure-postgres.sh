#!/usr/bin/env bash
# Make sure PostgreSQL server binaries are present for the storage tests.
# The tests start their own throwaway server (as the unprivileged `postgres` user) from these binaries.
# Installs Debian's `postgresql` package when missing and we are root; otherwise only says so,
# and the PostgreSQL tests skip with a visible reason. Never fails the build by itself.
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
  log="$(mktemp)"
  # A fresh container has empty package lists: update first, then install.
  apt-get update -qq >"$log" 2>&1 || { echo "ensure-postgres: apt-get update failed:"; tail -n 5 "$log"; }
  if ! apt-get install -y -qq --no-install-recommends postgresql >"$log" 2>&1; then
    echo "ensure-postgres: apt-get install postgresql failed:"
    tail -n 10 "$log"
  fi
  rm -f "$log"
fi
if find_initdb >/dev/null; then
  echo "ensure-postgres: PostgreSQL binaries at $(dirname "$(find_initdb)")"
  exit 0
fi
echo "ensure-postgres: no PostgreSQL server binaries; PostgreSQL tests will be skipped"
exit 0
