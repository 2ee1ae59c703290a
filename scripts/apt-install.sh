# Sourced by scripts/ensure-*.sh: install OS packages with apt-get when we are root, quietly,
# showing the last lines of apt's output only when something fails. Never exits the caller.
# Usage: apt_install <tag> <package>...
apt_install() {
  local tag="$1"
  shift
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
    return 0
  fi
  echo "$tag: installing $* from the OS packages"
  export DEBIAN_FRONTEND=noninteractive
  local log
  log="$(mktemp)"
  # A fresh container has empty package lists: update first, then install.
  apt-get update -qq >"$log" 2>&1 || { echo "$tag: apt-get update failed:"; tail -n 5 "$log"; }
  if ! apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1; then
    echo "$tag: apt-get install $* failed:"
    tail -n 10 "$log"
  fi
  rm -f "$log"
}
