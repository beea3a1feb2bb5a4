#!/usr/bin/env bash
# Takes the README's screenshots of the public site (docs/screenshots/*.png): the demo's year of
# the fund in a throw-away directory, served on a free local port, photographed by headless
# Chromium (tests/browser/pages.py --screenshots), then the server is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-browser.sh
cargo build --quiet
data_dir="$(mktemp -d)"
port="${SCREENSHOT_PORT:-18931}"
target/debug/solidarity-ledger demo --data-dir "$data_dir" >/dev/null
target/debug/solidarity-ledger serve --data-dir "$data_dir" --bind "127.0.0.1:$port" >"$data_dir/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data_dir"' EXIT
for _ in $(seq 1 50); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done
BASE_URL="http://127.0.0.1:$port" python3 tests/browser/pages.py --screenshots docs/screenshots
