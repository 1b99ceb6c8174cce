#!/usr/bin/env bash
# The AutoGen 0.7 baseline for `python -m benchmarks.bench_kernel_blocks`: its JupyterCodeExecutor in its own venv
# (or point AUTOGEN07_PYTHON at a Python that has autogen-ext[jupyter-executor] 0.7.x and pandas).
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv-ag07
.venv-ag07/bin/pip install -q "autogen-ext[jupyter-executor]==0.7.5" "autogen-core==0.7.5" pandas
