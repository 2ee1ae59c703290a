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
# shellcheck source=scripts/apt-install.sh
. "$(dirname "$0")/apt-install.sh"
apt_install ensure-postgres postgresql
if find_initdb >/dev/null; then
  echo "ensure-postgres: PostgreSQL binaries at $(dirname "$(find_initdb)")"
  exit 0
fi
echo "ensure-postgres: no PostgreSQL server binaries; PostgreSQL tests will be skipped"
exit 0
