#!/usr/bin/env bash
# A Python virtualenv with NetworkX (and the NumPy/SciPy its PageRank uses): the reference the analytics
# service's graph jobs are checked against (apps/analytics/test/graph.int-spec.ts, tools/bench/analytics).
# Idempotent and cached under ~/.cache/pulse-tools (PULSE_TOOLS_CACHE): prints the venv's python path; a
# second run costs nothing.
set -euo pipefail
NETWORKX_VERSION=3.6.1
NUMPY_VERSION=2.4.6
SCIPY_VERSION=1.17.1
CACHE=${PULSE_TOOLS_CACHE:-$HOME/.cache/pulse-tools}
VENV=$CACHE/analytics-venv-networkx-$NETWORKX_VERSION
log() { printf '[analytics-python] %s\n' "$*" >&2; }

command -v python3 >/dev/null || { echo "[analytics-python] error: python3 is required" >&2; exit 1; }
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import networkx, scipy' 2>/dev/null; then
  log "creating $VENV with networkx==$NETWORKX_VERSION, numpy, scipy (PyPI)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "networkx==$NETWORKX_VERSION" "numpy==$NUMPY_VERSION" "scipy==$SCIPY_VERSION" >&2
fi
echo "$VENV/bin/python"
