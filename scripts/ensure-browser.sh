#!/usr/bin/env bash
# Makes sure the browser tests (tests/browser.rs) have what they drive: Debian's `chromium`
# (installed with apt-get when missing, as root), Python Playwright from PyPI (launched on the
# system Chromium, never a browser build of its own) and axe-core from npm (tests/browser/,
# pinned by package-lock.json). Fails loudly when something cannot be installed: the browser
# tests are never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT_VERSION="1.56.0"

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "chromium is missing; installing Debian's chromium" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  else
    echo "error: the browser tests need Debian's chromium (apt-get install chromium, as root)" >&2
    exit 1
  fi
fi
if ! python3 -c "import playwright" >/dev/null 2>&1 \
  || [ "$(python3 -c 'from importlib.metadata import version; print(version("playwright"))')" != "$PLAYWRIGHT_VERSION" ]; then
  echo "python3 lacks playwright $PLAYWRIGHT_VERSION; installing it from PyPI" >&2
  python3 -m pip install --quiet --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION"
fi
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null; then
    echo "error: the browser tests need npm (axe-core)" >&2
    exit 1
  fi
  echo "installing axe-core from npm (tests/browser/package-lock.json)" >&2
  (cd tests/browser && npm ci --silent --no-audit --no-fund)
fi
echo "Browser for tests: $(chromium --version 2>/dev/null | head -1), playwright $PLAYWRIGHT_VERSION, axe-core $(node -p 'require("./tests/browser/node_modules/axe-core/package.json").version')"
