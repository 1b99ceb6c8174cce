#!/usr/bin/env bash
# The AutoGen 0.2 baseline for `python -m benchmarks`: ag2 0.3.2 (the pyautogen 0.2 line) in its own venv.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv-ag2
.venv-ag2/bin/pip install -q "ag2==0.3.2" pandas
