#!/bin/sh
# Install cse-triage from its bundle (`make dist`) with no package index: every file is checked
# against the bundle's SHA256SUMS, every dependency against the hash in requirements.lock, and
# nothing is downloaded or built. Run it from the unpacked bundle, as root for /opt:
#   sudo ./install.sh                 # into /opt/cse-triage (the path the systemd units use)
#   ./install.sh /some/other/prefix   # anywhere else, e.g. to try it
# Each version gets its own virtual environment, PREFIX/releases/VERSION; PREFIX/.venv is a link
# to the one in use, switched only once the new one is complete, so a failed install changes
# nothing and going back is one `ln` (deploy/README.md, "Upgrade"). Needs Python 3.11 or newer
# with its venv module (Debian and Ubuntu: apt-get install python3-venv). PYTHON=... picks one.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:-/opt/cse-triage}
python=${PYTHON:-python3}
version=$(cat "$here/VERSION")
release="$prefix/releases/$version"
umask 022

fail() {
    echo "install.sh: $*" >&2
    exit 1
}

"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || fail "needs Python 3.11 or newer ($python is $("$python" -V 2>&1))"
"$python" -c 'import ensurepip, venv' 2>/dev/null \
    || fail "$python has no venv module (Debian and Ubuntu: apt-get install python3-venv)"
(cd "$here" && sha256sum --check --quiet --strict SHA256SUMS) \
    || fail "the bundle does not match its SHA256SUMS; fetch it again"
if [ -e "$prefix/.venv" ] && [ ! -L "$prefix/.venv" ]; then
    fail "$prefix/.venv is a folder (an install made with make): move it aside first"
fi

if [ "$(readlink "$prefix/.venv" 2>/dev/null)" = "releases/$version" ]; then
    echo "cse-triage $version is already installed and in use ($prefix/.venv); nothing to do."
    exit 0
fi

echo "Installing cse-triage $version into $release"
rm -rf "$release"  # a leftover of an earlier attempt, never the release in use
mkdir -p "$prefix/releases"
"$python" -m venv "$release"
# PIP_CONFIG_FILE=/dev/null and --isolated: no pip configuration of this host (an index, extra
# links, constraints) applies; --no-index and --only-binary: only the bundle's wheels, never a
# download or a build.
pip="env PIP_CONFIG_FILE=/dev/null $release/bin/python -m pip --isolated --disable-pip-version-check"
$pip install --quiet --no-index --only-binary=:all: --find-links "$here/wheelhouse" \
    --require-hashes -r "$here/requirements.lock" \
    || { rm -rf "$release"; fail "the dependencies did not install; nothing was changed"; }
$pip install --quiet --no-index --no-deps "$here"/cse_triage-*.whl \
    || { rm -rf "$release"; fail "cse-triage did not install; nothing was changed"; }
"$release/bin/cse-triage" --help >/dev/null \
    || { rm -rf "$release"; fail "the installed cse-triage does not start; nothing was changed"; }

# Switch PREFIX/.venv to the new release in one step (rename over the old link).
ln -sfn "releases/$version" "$prefix/.venv.new"
mv -T "$prefix/.venv.new" "$prefix/.venv"
echo "Installed: $prefix/.venv/bin/cse-triage (version $version)."
echo "Next: deploy/README.md (settings, contacts, then systemctl restart)."
