#!/usr/bin/env bash
# The whole test suite, SQLite and PostgreSQL: `scripts/test.sh` (the README's test command).
# PostgreSQL comes from DATABASE_URL when set, otherwise each test binary starts a throw-away cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-postgres.sh
scripts/ensure-python.sh
# The browser tests (tests/browser.rs): Chromium, Playwright and axe-core; never skipped.
scripts/ensure-browser.sh
cargo test --workspace --all-targets "$@"
