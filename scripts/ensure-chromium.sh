#!/usr/bin/env bash
# Make sure Chromium is present for the browser tests of the web page (tests/web/test_web_browser.py).
# Playwright drives it with `executable_path`; no browser is ever downloaded (`playwright install`
# is never run). Installs Debian's `chromium` package when missing and we are root; otherwise only
# says so, and the browser tests skip with a visible reason (CI sets CSE_REQUIRE_BROWSER=1, which
# turns that skip into a failure). Never fails the build by itself.
set -u
find_chromium() {
  for name in chromium chromium-browser google-chrome; do
    command -v "$name" 2>/dev/null && return 0
  done
  return 1
}
if find_chromium >/dev/null; then
  exit 0
fi
# shellcheck source=scripts/apt-install.sh
. "$(dirname "$0")/apt-install.sh"
apt_install ensure-chromium chromium fonts-dejavu-core
if find_chromium >/dev/null; then
  echo "ensure-chromium: $(find_chromium)"
  exit 0
fi
echo "ensure-chromium: no Chromium; the browser tests will be skipped"
exit 0
