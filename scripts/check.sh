#!/usr/bin/env bash
# The guards CI runs before the tests: formatting, lint and types (run from the repository root, in the venv).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
"$bin/ruff" format --check .
"$bin/ruff" check .
"$bin/mypy"
