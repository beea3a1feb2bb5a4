#!/usr/bin/env bash
# Checks the project's machine-readable documents with real validators, no Docker engine needed:
# openapi/openapi.yaml against the OpenAPI specification (openapi-spec-validator) and
# docker-compose.yml against the Compose specification's schema (check-jsonschema's vendored
# compose-spec). The validators are installed from PyPI into a virtual environment under target/,
# with schemathesis, which scripts/schemathesis.sh runs against the served document.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=target/spec-venv
# Pinned: a validator's new release must not change CI's verdict behind our back.
# `cryptography` lets the tests check checkpoint signatures with tools/verify_export.py too.
PACKAGES=(openapi-spec-validator==0.9.0 check-jsonschema==0.39.0 cryptography==48.0.0 schemathesis==4.32.5)
# Their dependencies are pinned too, by scripts/spec-constraints.txt.
CONSTRAINTS=scripts/spec-constraints.txt
STAMP="$VENV/.installed-$( (printf '%s ' "${PACKAGES[@]}"; cat "$CONSTRAINTS") | sha256sum | cut -c1-16)"
if [[ ! -f "$STAMP" ]]; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -c "$CONSTRAINTS" "${PACKAGES[@]}"
    touch "$STAMP"
fi

"$VENV/bin/openapi-spec-validator" openapi/openapi.yaml
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
# The Python verifier of export files must at least compile on the CI's Python.
python3 -m py_compile tools/verify_export.py
