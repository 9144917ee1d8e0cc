#!/usr/bin/env bash
# Create (or update) the isolated peers venv at benchmarks/.peers-venv, or at
# the folder given as the first argument.
# Idempotent: reuses an existing venv; pip skips already-satisfied pins.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-$here/../.peers-venv}"   # (snnlab bench setup-peers names one outside a checkout)
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
PYNEST_QUIET=1 "$venv/bin/python" -c "import nest, brian2, numpy; print('peers venv ok:', 'nest', nest.__version__, '| brian2', brian2.__version__, '| numpy', numpy.__version__)"
