#!/usr/bin/env bash
# Makes sure the Python the tests run has what they need: `python3` (the independent export
# verifier, tools/verify_export.py) with the `cryptography` package (checkpoint signatures) and
# `lxml` (XML Schema validation of the pain.001 and IATI files against ../shared/standards,
# ledger_testkit::xsd). Installs them, pinned, from PyPI for the current user's Python when missing.
set -euo pipefail

if ! command -v python3 >/dev/null; then
  echo "error: the tests need python3 (the independent export verifier, XSD validation)" >&2
  exit 1
fi
if ! python3 -c "import cryptography" >/dev/null 2>&1; then
  echo "python3 lacks the cryptography package; installing it from PyPI" >&2
  python3 -m pip install --quiet --disable-pip-version-check "cryptography==48.0.0"
fi
if ! python3 -c "import lxml" >/dev/null 2>&1; then
  echo "python3 lacks the lxml package; installing it from PyPI" >&2
  python3 -m pip install --quiet --disable-pip-version-check "lxml==6.1.3"
fi
echo "Python for tests: $(python3 --version) with cryptography $(python3 -c 'import cryptography; print(cryptography.__version__)'), lxml $(python3 -c 'import lxml; print(lxml.__version__)')"
